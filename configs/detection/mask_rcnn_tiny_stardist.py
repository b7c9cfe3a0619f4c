# Instance segmentation of nuclei in real microscopy (mPLUG-2 Table 2 "Image Detection"):
# mmdet's Mask R-CNN with our backbone, one class; CocoMetric bbox and segm mAP.
#   python tools/convert_stardist.py data/stardist
#   python tools/train.py configs/detection/mask_rcnn_tiny_stardist.py
#   python tools/test.py configs/detection/mask_rcnn_tiny_stardist.py CHECKPOINT
#   python tools/infer.py configs/detection/mask_rcnn_tiny_stardist.py CHECKPOINT --image TILE
_base_ = ['../_base_/models/mask_rcnn_vit_tiny.py', '../_base_/datasets/stardist_instance.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/mmdet_cpu.py']
model = dict(roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)),
             test_cfg=dict(rcnn=dict(max_per_img=100)))   # up to ~40 nuclei in a tile
optim_wrapper = dict(optimizer=dict(lr=3e-4))
train_cfg = dict(max_epochs=24, val_interval=8)   # ~10 min on 2 idle cores (12 tiles)
