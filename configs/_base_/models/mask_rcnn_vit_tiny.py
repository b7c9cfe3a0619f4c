# mmdet's packaged Mask R-CNN with our backbone (encoder + universal layers + simple pyramid)
# and FPN over its four maps; heads narrowed to the pyramid's channels, a lighter mask head and
# fewer sampled RoIs for CPU runs.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', '../modules/dense_vit_tiny.py']
d = _base_.dense_dims
model = dict(
    data_preprocessor=dict(bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(_delete_=True, **_base_.dense_backbone),
    neck=dict(in_channels=[d] * 4, out_channels=d, num_outs=5),
    rpn_head=dict(in_channels=d, feat_channels=d),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=d),
        bbox_head=dict(in_channels=d, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=d),
        mask_head=dict(in_channels=d, num_convs=2, conv_out_channels=d // 2)),
    train_cfg=dict(rpn=dict(sampler=dict(num=128)), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=300), rcnn=dict(max_per_img=50)))
