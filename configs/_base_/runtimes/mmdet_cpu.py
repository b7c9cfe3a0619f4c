# mmdet's default runtime (scope mmdet, its visualizer) with CPU-friendly process groups and
# one log line per 10 iterations.
_base_ = 'mmdet::_base_/default_runtime.py'
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=2, save_best='auto'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
