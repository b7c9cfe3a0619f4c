# AdamW + epoch-based loops. The learning-rate schedule depends on the task's length, so task
# configs set `param_scheduler` (warm-up + cosine) next to `train_cfg.max_epochs`.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, betas=(0.9, 0.999)),
                     clip_grad=dict(max_norm=5.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
