# Detection and instance segmentation (mPLUG-2 Table 2 "Image Detection") on the shapes scenes:
# mmdet's Mask R-CNN with our backbone, mmdet's CocoMetric (bbox and segm mAP).
#   python tools/make_shapes.py data/shapes
#   python tools/train.py configs/detection/mask_rcnn_tiny_shapes.py
_base_ = ['../_base_/models/mask_rcnn_vit_tiny.py', '../_base_/datasets/shapes_instance.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/mmdet_cpu.py']
model = dict(roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)))
optim_wrapper = dict(optimizer=dict(lr=5e-4))
train_cfg = dict(max_epochs=1, val_interval=1)
