# A very small composed model on the real digits, for training-machinery tests (seconds per epoch).
_base_ = ['../../configs/image_classification/digits_tiny.py']
model = dict(
    vision_encoder=dict(width=64, layers=1, heads=2, patch_size=8),
    universal=dict(embed_dims=64, num_latents=4, num_heads=2),
    heads=dict(cls=dict(in_dims=64, label_smoothing=0.0)),
)
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=3e-3))
train_cfg = dict(max_epochs=3, val_interval=3)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=-1, save_best=None))
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
