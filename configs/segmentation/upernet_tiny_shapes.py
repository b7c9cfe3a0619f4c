# Semantic segmentation (mPLUG-2 Table 2 "Image Segmentation") on the shapes scenes: mmseg's
# UPerNet with our backbone, IoUMetric (mIoU over background and the three shapes).
#   python tools/make_shapes.py data/shapes
#   python tools/train.py configs/segmentation/upernet_tiny_shapes.py
#   python tools/test.py configs/segmentation/upernet_tiny_shapes.py CHECKPOINT
#   python tools/infer.py configs/segmentation/upernet_tiny_shapes.py CHECKPOINT --image IMAGE
_base_ = ['../_base_/models/upernet_vit_tiny.py', '../_base_/datasets/shapes_semantic.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/mmseg_cpu.py']
model = dict(data_preprocessor=dict(size=(128, 128)),
             decode_head=dict(num_classes=4), auxiliary_head=dict(num_classes=4))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
train_cfg = dict(max_epochs=3, val_interval=1)
