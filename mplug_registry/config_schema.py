"""The runner's part of a config: the container each well-known key holds, and the ``type`` of
each component the runner builds (schedulers, hooks, loops, ...) in the registry it is built from.
Each problem is a one-line :class:`~mplug_registry.errors.ConfigError` naming the key."""
import reprlib

from .errors import ConfigError

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_DICT, _LIST, _EITHER = (dict, ), (list, tuple), (dict, list, tuple)

#: the container each well-known key must hold, with an example for the message; ``*`` is any
#: name in a dict. Parents come before their children, so the outermost wrong key is named.
_FORMS = [
    ('model', _DICT, "model=dict(type='ComposedModel', ...)"),
    ('model.heads', _DICT, "heads=dict(cls=dict(type='ClassificationHead', ...))"),
    *[row for loader in _LOADERS for row in (
        (loader, _DICT, f"{loader}=dict(batch_size=32, sampler=dict(type='DefaultSampler'), "
                        'dataset=dict(...))'),
        (f'{loader}.dataset', _DICT, "dataset=dict(type='DigitsDataset', pipeline=[...])"),
        (f'{loader}.sampler', _DICT, "sampler=dict(type='DefaultSampler', shuffle=True)"),
        (f'{loader}.batch_sampler', _DICT, "batch_sampler=dict(type='AspectRatioBatchSampler')"),
        (f'{loader}.collate_fn', _DICT, "collate_fn=dict(type='pseudo_collate')"),
        (f'{loader}.worker_init_fn', _DICT, "worker_init_fn=dict(type='worker_init_fn')"))],
    ('train_cfg', _DICT, "train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=10)"),
    ('val_cfg', _DICT, "val_cfg=dict(type='ValLoop')"),
    ('test_cfg', _DICT, "test_cfg=dict(type='TestLoop')"),
    ('val_evaluator', _EITHER, "val_evaluator=dict(type='Accuracy') or [dict(...), dict(...)]"),
    ('test_evaluator', _EITHER, "test_evaluator=dict(type='Accuracy') or [dict(...), dict(...)]"),
    ('optim_wrapper', _DICT,
     "optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))"),
    ('optim_wrapper.optimizer', _DICT, "optimizer=dict(type='AdamW', lr=1e-3)"),
    ('optim_wrapper.paramwise_cfg', _DICT, 'paramwise_cfg=dict(norm_decay_mult=0.0)'),
    ('optim_wrapper.clip_grad', _DICT, 'clip_grad=dict(max_norm=5.0)'),
    ('param_scheduler', _EITHER,
     "param_scheduler=[dict(type='LinearLR', ...), dict(type='CosineAnnealingLR', ...)]"),
    ('default_hooks', _DICT, "default_hooks=dict(checkpoint=dict(type='CheckpointHook'))"),
    ('default_hooks.*', _DICT, "checkpoint=dict(type='CheckpointHook', interval=1), or None to "
                               'turn the hook off'),
    ('custom_hooks', _LIST, "custom_hooks=[dict(type='EMAHook')]"),
    ('visualizer', _DICT, "visualizer=dict(type='Visualizer', vis_backends=[...])"),
    ('visualizer.vis_backends', _EITHER, "vis_backends=[dict(type='LocalVisBackend')]"),
    ('log_processor', _DICT, 'log_processor=dict(window_size=10, by_epoch=True)'),
    ('env_cfg', _DICT, "env_cfg=dict(dist_cfg=dict(backend='gloo'))"),
    ('randomness', _DICT, 'randomness=dict(seed=0)'),
    ('strategy', _DICT, "strategy=dict(type='DeepSpeedStrategy', ...)"),
    ('model_wrapper_cfg', _DICT, "model_wrapper_cfg=dict(type='MMDistributedDataParallel')"),
    ('auto_scale_lr', _DICT, 'auto_scale_lr=dict(base_batch_size=256)'),
    ('data_preprocessor', _DICT, "data_preprocessor=dict(type='...')"),
]
#: the lists in a dataset config, checked in every dataset (a wrapper's inner ones too)
_DATASET_FORMS = [
    ('pipeline', _LIST,
     "pipeline=[dict(type='ImageResize', size=32), dict(type='PackMultimodalInputs')]"),
    ('datasets', _LIST, 'datasets=[dict(type=...), dict(type=...)]'),
]
#: values a config file can write; anything else is a built object and left to the runner
_LITERALS = (dict, list, tuple, str, int, float)


def _describe(value):
    """``a dict`` / ``a list`` / the (shortened) repr of a scalar, for messages."""
    if isinstance(value, dict):
        return 'a dict'
    if isinstance(value, (list, tuple)):
        return f"a {'tuple' if isinstance(value, tuple) else 'list'}"
    return reprlib.repr(value)


def _check_form(value, key, forms, example=None):
    """``value`` is one of ``forms`` (dict / list); unset values and built objects pass."""
    if value is None or not isinstance(value, _LITERALS) or isinstance(value, forms):
        return
    form = ' or a '.join('list' if f is list else 'dict' for f in forms if f is not tuple)
    raise ConfigError(key, f'must be a {form}, got {_describe(value)}',
                      f'e.g. {example}' if example else None)


def _matches(node, pattern, prefix=''):
    """``(dotted key, value)`` of each key of ``node`` that ``pattern`` names (``*``: any name)."""
    head, _, rest = pattern.partition('.')
    if not isinstance(node, dict):
        return
    for name in (list(node) if head == '*' else [head] if head in node else []):
        if rest:
            yield from _matches(node[name], rest, f'{prefix}{name}.')
        else:
            yield f'{prefix}{name}', node[name]


def _check_forms(cfg):
    """Every key of :data:`_FORMS` holds the container the runner reads there."""
    for pattern, forms, example in _FORMS:
        for key, value in _matches(cfg, pattern):
            _check_form(value, key, forms, example)


#: MMEngine's root registries a runner builds from besides models, datasets, transforms, metrics
_RUNNER_REGISTRIES = ('DATA_SAMPLERS', 'FUNCTIONS', 'LOOPS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
                      'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'HOOKS', 'VISUALIZERS',
                      'VISBACKENDS', 'LOG_PROCESSORS', 'STRATEGIES', 'MODEL_WRAPPERS', 'EVALUATOR')
#: filled only by importing ``mmengine.runner``, which imports deepspeed and transformers (seconds):
#: checked where a runner is built anyway (:func:`mplug_registry.runtime.check_runner_config`)
RUNNER_ONLY = ('LOOPS', 'LOG_PROCESSORS', 'STRATEGIES')


def _scope(cfg):
    """The config's ``default_scope``, ours when unset (as :func:`load_config` sets it)."""
    return cfg.get('default_scope', 'mplug_registry')


def _runner_registries(scope):
    """``{root name: registry}``: each root of :data:`_RUNNER_REGISTRIES`, or its child of
    ``scope`` (the config's ``default_scope``) where there is one, as ``Registry.build`` picks."""
    import importlib

    import mmengine.registry as roots

    from . import registry  # noqa: F401  our children of these roots
    from ._mmengine import import_mmengine_model
    import_mmengine_model()  # MMEngine's optimizers, without importing transformers
    import mmengine.dataset  # noqa: F401  samplers, collate functions
    import mmengine.evaluator  # noqa: F401
    import mmengine.hooks  # noqa: F401
    import mmengine.visualization  # noqa: F401
    if scope:
        try:
            importlib.import_module(f'{scope}.registry')
        except (ImportError, AttributeError):
            pass
    found = {name: getattr(roots, name)._search_child(scope) if scope else None
             for name in _RUNNER_REGISTRIES}
    # a child registry not filled yet is empty, hence falsy: compare with None
    return {name: getattr(roots, name) if child is None else child
            for name, child in found.items()}


def _typed(node, key, root, required=True):
    """``(type, key of the type, root)`` of a component config, nothing when it is unset, built, or
    has no optional ``type``; a one-line error for one that is no dict or lacks a required type."""
    if node is None or not isinstance(node, _LITERALS):
        return
    if not isinstance(node, dict):
        raise ConfigError(key, f'must be a dict with a `type`, got {_describe(node)}')
    if 'type' in node:
        yield node['type'], f'{key}.type', root
    elif required:
        raise ConfigError(key, 'has no `type`')


def _runner_components(cfg):
    """``(type, key, root registry name)`` of each component a runner builds from config besides
    the model, datasets, transforms and metrics."""
    for loader in _LOADERS:
        node = cfg.get(loader)
        if isinstance(node, dict):
            for name, root in (('sampler', 'DATA_SAMPLERS'), ('batch_sampler', 'DATA_SAMPLERS'),
                               ('collate_fn', 'FUNCTIONS'), ('worker_init_fn', 'FUNCTIONS')):
                yield from _typed(node.get(name), f'{loader}.{name}', root, True)
    train = cfg.get('train_cfg')
    if isinstance(train, dict) and ('type' in train) == ('by_epoch' in train):
        raise ConfigError('train_cfg', 'must have one of `type` and `by_epoch`, it has '
                          f"{'both' if 'type' in train else 'neither'}",
                          "e.g. train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=10)")
    for loop in ('train_cfg', 'val_cfg', 'test_cfg'):
        yield from _typed(cfg.get(loop), loop, 'LOOPS', False)
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict):
        # one wrapper with its optimizer, or (with a constructor) one per named optimizer
        wrappers = [('optim_wrapper', wrapper)] if 'optimizer' in wrapper else [
            (f'optim_wrapper.{name}', w) for name, w in wrapper.items()
            if isinstance(w, dict) and 'optimizer' in w]
        for key, w in wrappers:
            yield from _typed(w, key, 'OPTIM_WRAPPERS', False)
            yield from _typed(w.get('optimizer'), f'{key}.optimizer', 'OPTIMIZERS', True)
        if wrapper.get('constructor') is not None:
            yield wrapper['constructor'], 'optim_wrapper.constructor', 'OPTIM_WRAPPER_CONSTRUCTORS'
    yield from _each_scheduler(cfg.get('param_scheduler'))
    hooks = cfg.get('default_hooks')
    for name, hook in (hooks.items() if isinstance(hooks, dict) else ()):
        yield from _typed(hook, f'default_hooks.{name}', 'HOOKS', True)
    custom = cfg.get('custom_hooks')
    for i, hook in enumerate(custom if isinstance(custom, (list, tuple)) else ()):
        yield from _typed(hook, f'custom_hooks[{i}]', 'HOOKS', True)
    visualizer = cfg.get('visualizer')
    yield from _typed(visualizer, 'visualizer', 'VISUALIZERS', True)
    backends = visualizer.get('vis_backends') if isinstance(visualizer, dict) else None
    if isinstance(backends, (list, tuple)):
        for i, backend in enumerate(backends):
            yield from _typed(backend, f'visualizer.vis_backends[{i}]', 'VISBACKENDS', True)
    else:
        yield from _typed(backends, 'visualizer.vis_backends', 'VISBACKENDS', True)
    yield from _typed(cfg.get('log_processor'), 'log_processor', 'LOG_PROCESSORS', False)
    yield from _typed(cfg.get('strategy'), 'strategy', 'STRATEGIES', True)
    yield from _typed(cfg.get('model_wrapper_cfg'), 'model_wrapper_cfg', 'MODEL_WRAPPERS', False)


def _each_scheduler(node):
    """The scheduler configs of ``param_scheduler``: one dict, a list, or (a dict without ``type``)
    a dict or list per optimizer name."""
    if isinstance(node, dict) and 'type' not in node:
        if not all(isinstance(v, (dict, list, tuple)) for v in node.values()):
            raise ConfigError('param_scheduler', 'has no `type`',
                              "e.g. param_scheduler=dict(type='CosineAnnealingLR', ...)")
        groups = [(f'param_scheduler.{name}', group) for name, group in node.items()]
    else:
        groups = [('param_scheduler', node)]
    for key, group in groups:
        if isinstance(group, (list, tuple)):
            for i, scheduler in enumerate(group):
                yield from _typed(scheduler, f'{key}[{i}]', 'PARAM_SCHEDULERS', True)
        else:
            yield from _typed(group, key, 'PARAM_SCHEDULERS', True)


def check_runner_types(cfg, roots):
    """Each component of :func:`_runner_components` built from one of the registries ``roots``
    (names in :data:`_RUNNER_REGISTRIES`) names a registered ``type``, else a one-line error with
    the closest name. Components' forms are checked whatever ``roots`` is."""
    from .builder import get_registered
    lookups = [lookup for lookup in _runner_components(cfg) if lookup[2] in roots]
    if not lookups:
        return
    registries = _runner_registries(_scope(cfg))
    for type_name, key, root in lookups:
        if isinstance(type_name, str) and registries[root].get(type_name) is None:
            import mmengine.runner  # noqa: F401  the rest of MMEngine's (DeepSpeed's wrapper, ...)
        get_registered(registries[root], type_name, key)
