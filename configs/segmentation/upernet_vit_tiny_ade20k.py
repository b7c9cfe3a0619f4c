# mmseg's packaged UPerNet-ViT (ADE20K, data in data/ade/ as mmseg lays it out) with only the
# backbone and the neck replaced: mPLUG-2's image encoder + universal layers + simple pyramid
# (768-channel maps, as UPerHead reads) and no MultiLevelNeck. BN instead of SyncBN on CPU.
_base_ = ['mmseg::vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py',
          '../_base_/modules/dense_vit_tiny.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(_base_.dense_backbone, _delete_=True,
                  neck=dict(type='SimpleFeaturePyramid', out_dims=768, scales=(2, 1, 0.5, 0.25))),
    neck=None,
    decode_head=dict(norm_cfg=norm_cfg),
    auxiliary_head=dict(norm_cfg=norm_cfg))
