# Detection and instance segmentation (mPLUG-2 Table 2 "Image Detection") on the shapes scenes:
# mmdet's Cascade Mask R-CNN (three box stages) with our backbone; CocoMetric bbox and segm mAP.
#   python tools/make_shapes.py data/shapes
#   python tools/train.py configs/detection/cascade_mask_rcnn_tiny_shapes.py
#   python tools/test.py configs/detection/cascade_mask_rcnn_tiny_shapes.py CHECKPOINT
#   python tools/infer.py configs/detection/cascade_mask_rcnn_tiny_shapes.py CHECKPOINT \
#       --image IMAGE
_base_ = ['../_base_/models/cascade_mask_rcnn_vit_tiny.py', '../_base_/datasets/shapes_instance.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/mmdet_cpu.py']
model = dict(roi_head=dict(
    bbox_head=[dict(stage, num_classes=3) for stage in _base_.model.roi_head.bbox_head],
    mask_head=dict(num_classes=3)))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
train_cfg = dict(max_epochs=6, val_interval=2)
