# AdamW + epoch-based loops, and the learning-rate schedule of the task configs: a linear warm-up
# over the first 30 iterations, then cosine annealing to 1e-5 over the run (by epoch, applied per
# iteration). The cosine names no `end`: MMEngine sets a scheduler's missing `end` to
# train_cfg.max_epochs, so a task config sets only `train_cfg.max_epochs`. A longer warm-up:
#   param_scheduler = _base_.param_scheduler
#   param_scheduler[0].end = 200
# fused=True: torch's single-kernel AdamW (CPU and CUDA), the same update as the default
# per-tensor loop in one pass (faster on 2 CPU cores: docs/results.md)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, betas=(0.9, 0.999),
                                    fused=True),
                     clip_grad=dict(max_norm=5.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=1e-5,
         convert_to_iter_based=True),
]
