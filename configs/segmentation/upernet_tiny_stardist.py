# Semantic segmentation of nuclei in real microscopy (mPLUG-2 Table 2 "Image Segmentation"):
# mmseg's UPerNet with our backbone, IoUMetric (foreground IoU: the 'nucleus' row of its table).
#   python tools/convert_stardist.py data/stardist
#   python tools/train.py configs/segmentation/upernet_tiny_stardist.py
#   python tools/test.py configs/segmentation/upernet_tiny_stardist.py CHECKPOINT
#   python tools/infer.py configs/segmentation/upernet_tiny_stardist.py CHECKPOINT --image TILE
_base_ = ['../_base_/models/upernet_vit_tiny.py', '../_base_/datasets/stardist_semantic.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/mmseg_cpu.py']
crop_size = (128, 128)
model = dict(data_preprocessor=dict(size=crop_size),
             decode_head=dict(num_classes=2), auxiliary_head=dict(num_classes=2))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
train_cfg = dict(max_epochs=40, val_interval=10)   # ~6 min on 2 idle cores (12 tiles)
