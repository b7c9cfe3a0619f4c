# mmseg's default runtime (scope mmseg, its visualizer) with CPU-friendly process groups and
# epoch-based checkpoints (mmseg's schedules are iteration-based; ours are epochs).
_base_ = 'mmseg::_base_/default_runtime.py'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
log_processor = dict(by_epoch=True, window_size=10)
randomness = dict(seed=0)
