# mmseg's packaged UPerNet (ViT) with our backbone in place of its ViT and MultiLevelNeck: the
# simple pyramid already gives the four maps UPerHead reads. BN instead of SyncBN (CPU).
_base_ = ['mmseg::_base_/models/upernet_vit-b16_ln_mln.py', '../modules/dense_vit_tiny.py']
d = _base_.dense_dims
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(_delete_=True, **_base_.dense_backbone),
    neck=None,
    decode_head=dict(in_channels=[d] * 4, channels=d, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=d, in_index=2, channels=d // 2, norm_cfg=norm_cfg))
