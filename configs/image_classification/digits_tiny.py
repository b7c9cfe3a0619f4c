# Image classification (mPLUG-2 Table 2 row: image encoder + universal layers), on real digits.
#   python tools/train.py configs/image_classification/digits_tiny.py
# top-1 0.975 on the 360 held-out digits after 12 epochs, 2 min 21 s on 2 cores; see docs/results.md
_base_ = ['../_base_/datasets/digits.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    vision_encoder=dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=4),
    universal=dict(type='UniversalLayers', embed_dims=192, num_latents=16, num_layers=1, num_heads=3),
    heads=dict(cls=dict(type='ClassificationHead', num_classes=10, in_dims=192, label_smoothing=0.1)),
    required_slots=('vision_encoder', 'universal'),
)
train_cfg = dict(max_epochs=12, val_interval=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=12, eta_min=1e-5, convert_to_iter_based=True),
]
