# mmdet's packaged Mask R-CNN (COCO, data in data/coco/ as mmdet lays it out) with only the
# backbone and the neck replaced: mPLUG-2's image encoder + universal layers + simple pyramid,
# and FPN reading its four 256-channel maps.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/modules/dense_vit_tiny.py']
model = dict(
    backbone=dict(_base_.dense_backbone, _delete_=True,
                  neck=dict(type='SimpleFeaturePyramid', out_dims=256, scales=(2, 1, 0.5, 0.25))),
    neck=dict(in_channels=[256] * 4))
