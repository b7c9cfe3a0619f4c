# mPLUG-2's image encoder + universal layers as an mmdet / mmseg backbone, sized for CPU runs on
# small images: patch 8, so the simple pyramid's scales (2, 1, 1/2, 1/4) give strides 4-32 as
# ViT-B/16's (4, 2, 1, 1/2) do. Used as model.backbone through the cross-scope type.
dense_dims = 64        # channels of every pyramid level (the toolbox's neck / heads read them)
dense_backbone = dict(
    type='mplug_registry.DualVisionBackbone',
    encoder=dict(type='DualVisionEncoder', arch='tiny', patch_size=8, image_size=128,
                 stem='hybrid'),
    universal=dict(type='UniversalLayers', num_latents=16, num_layers=1, num_heads=3),
    neck=dict(type='SimpleFeaturePyramid', out_dims=dense_dims, scales=(2, 1, 0.5, 0.25)),
    window_size=4, global_attn_indexes=(1, 3))
