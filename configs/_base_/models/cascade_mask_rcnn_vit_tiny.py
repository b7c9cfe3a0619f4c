# mmdet's packaged Cascade Mask R-CNN with our backbone, narrowed as mask_rcnn_vit_tiny.py is: the
# package's three box heads and three R-CNN training stages, each with the same CPU-sized overrides.
_base_ = ['mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py', '../modules/dense_vit_tiny.py']
d = _base_.dense_dims
model = dict(
    backbone=dict(_delete_=True, **_base_.dense_backbone),
    neck=dict(in_channels=[d] * 4, out_channels=d, num_outs=5),
    rpn_head=dict(in_channels=d, feat_channels=d),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=d),
        bbox_head=[dict(stage, in_channels=d, fc_out_channels=256)
                   for stage in _base_.model.roi_head.bbox_head],
        mask_roi_extractor=dict(out_channels=d),
        mask_head=dict(in_channels=d, conv_out_channels=d)),
    train_cfg=dict(rpn=dict(sampler=dict(num=128)),
                   rcnn=[dict(stage, sampler=dict(stage.sampler, num=128))
                         for stage in _base_.model.train_cfg.rcnn]),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=300), rcnn=dict(max_per_img=50)))
