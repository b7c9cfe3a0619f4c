# Tree-crown detection on real aerial images (mPLUG-2 Table 2 "Image Detection"): the Mask R-CNN
# base without its mask branch, i.e. mmdet's Faster R-CNN, with our backbone; AP50 = bbox_mAP_50.
#   python tools/convert_deepforest.py data/deepforest
#   python tools/train.py configs/detection/faster_rcnn_tiny_deepforest.py
#   python tools/test.py configs/detection/faster_rcnn_tiny_deepforest.py CHECKPOINT
#   python tools/infer.py configs/detection/faster_rcnn_tiny_deepforest.py CHECKPOINT --image TILE
_base_ = ['../_base_/models/mask_rcnn_vit_tiny.py', '../_base_/datasets/deepforest_detection.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/mmdet_cpu.py']
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(pad_mask=False),
    roi_head=dict(mask_roi_extractor=None, mask_head=None, bbox_head=dict(num_classes=1)),
    test_cfg=dict(rcnn=dict(max_per_img=100)))   # up to ~40 crowns in a tile
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=6, val_interval=3)   # 126 iterations of 4 tiles
