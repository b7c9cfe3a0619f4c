"""Config files: ``PLUGIN::path`` resolution, loading with ``--cfg-options``, static checks."""
import os

from .checks import check_positive
from .config_schema import (_DATASET_FORMS, _RUNNER_REGISTRIES, RUNNER_ONLY, _check_form,
                            _check_forms, _describe, _runner_registries, _scope,
                            check_runner_types)
from .errors import ConfigError, DataPathError, close_match

#: config sections whose ``type`` is checked against a registry before anything is built
_SECTIONS = {
    'model': 'model',
    'train_dataloader.dataset': 'dataset', 'val_dataloader.dataset': 'dataset',
    'test_dataloader.dataset': 'dataset',
    'val_evaluator': 'metric', 'test_evaluator': 'metric',
}
def resolve_config_path(path):
    """A config path as given, or ``PLUGIN::relative/path.py`` from a plugin's config dirs."""
    if os.path.isfile(path) or '::' not in path:
        if not os.path.isfile(path):
            raise ConfigError('config', f"no config file at '{path}'")
        return path
    plugin, rel = path.split('::', 1)
    from .plugin_manager import get_plugin_manager
    pm = get_plugin_manager()
    if pm.get(plugin) is None:
        names = [r.name for r in pm.records] + [r.dist for r in pm.records]
        match = close_match(plugin, names)
        raise ConfigError('config', f"no plugin named '{plugin}'",
                          f"did you mean '{match}'?" if match else 'see `mplug-registry plugins`')
    dirs = [d for ds in pm.config_dirs(plugin).values() for d in ds]
    for d in dirs:
        candidate = os.path.join(d, rel)
        if os.path.isfile(candidate):
            return candidate
    raise ConfigError('config', f"plugin '{plugin}' ships no config '{rel}'",
                      f'searched: {", ".join(dirs) or "the plugin contributes no config dirs"}')


def load_config(path, cfg_options=None):
    """Load a config (``PLUGIN::`` paths allowed) and merge ``cfg_options``."""
    from mmengine.config import Config
    path = resolve_config_path(path)
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, FileNotFoundError, KeyError, NameError, ImportError, TypeError) as err:
        # TypeError: also a child config's dict merged onto a list of its _base_ (or the reverse)
        raise ConfigError('config', f"cannot load '{path}': {type(err).__name__}: {err}") from err
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except (KeyError, TypeError, IndexError) as err:  # e.g. a name used as a list index
            raise ConfigError('--cfg-options', f'cannot apply them: {type(err).__name__}: {err}',
                              'a list item is named by its index, e.g. '
                              'train_dataloader.dataset.pipeline.0.size=32') from err
    cfg.setdefault('default_scope', 'mplug_registry')
    return cfg


def _get(cfg, dotted):
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_config(cfg, missing_data=None):
    """Check a config before anything is built; each problem is a one-line ConfigError naming the key.

    Checked: the well-known keys hold a dict or a list as the runner reads them (:data:`_FORMS`);
    the ``type`` of the model, datasets (and their pipeline transforms), evaluators and of what else
    a runner builds (hooks, optimizer, optim wrapper, schedulers, samplers, collate functions,
    visualizer; loops, log processor and strategy in :func:`.runtime.check_runner_config`), each in
    the registry MMEngine will use; the arguments of datasets, transforms and metrics (unknown
    names, values through the classes' ``check_args``); annotation files and data roots exist;
    sizes, counts and the learning rate are positive. The model itself is checked when it is built (:class:`ComposedModel`).

    Missing data raises :class:`DataPathError`; with a list as ``missing_data`` those errors are
    appended to it instead and the check goes on (for tools that do not read the data: ``check``,
    ``infer``).
    """
    from .registry import ALL
    if hasattr(cfg, 'to_dict'):  # an mmengine Config
        cfg = cfg.to_dict()
    _check_forms(cfg)
    registries = {name: scoped_registry(ALL[name], _scope(cfg))
                  for name in ('model', 'dataset', 'metric', 'transform')}
    for key, reg_name in _SECTIONS.items():
        node = _get(cfg, key)
        if node is None:
            continue
        many = isinstance(node, (list, tuple))
        for i, item in enumerate(node if many else [node]):
            item_key = f'{key}[{i}]' if many else key
            if reg_name == 'dataset':
                _check_dataset(item, item_key, registries['dataset'], missing_data,
                               registries['transform'])
            elif reg_name == 'metric' and not many and isinstance(item, dict) \
                    and 'metrics' in item:
                _check_evaluator(item, item_key, registries['metric'], _scope(cfg))
            else:
                _check_type(item, item_key, registries[reg_name], check_args=reg_name != 'model')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = _get(cfg, key)
        if isinstance(loader, dict):
            _positive(loader, 'batch_size', key)
            _positive(loader, 'num_workers', key, allow_zero=True)
            _positive_anywhere(loader.get('dataset'), 'num_frames', f'{key}.dataset')
    for key in ('max_epochs', 'max_iters', 'val_interval'):
        _positive(_get(cfg, 'train_cfg') or {}, key, 'train_cfg')
    check_runner_types(cfg, set(_RUNNER_REGISTRIES) - set(RUNNER_ONLY))
    if _get(cfg, 'optim_wrapper.optimizer.lr') is not None:
        _positive(_get(cfg, 'optim_wrapper.optimizer'), 'lr', 'optim_wrapper.optimizer',
                  integer=False)


def scoped_registry(registry, scope):
    """The child of ``registry``'s root in ``scope`` (a config's ``default_scope``, e.g. mmdet's
    MODELS for an mmdet config), as ``Registry.build`` picks it; ``registry`` itself for our scope
    or a scope that is not installed."""
    import importlib
    if not scope or scope == registry.scope:
        return registry
    try:
        importlib.import_module(f'{scope}.registry')
        importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    except (ImportError, AttributeError):
        return registry
    child = registry._get_root_registry()._search_child(scope)
    return registry if child is None else child   # an empty child is still the scope's


def _check_dataset(item, key, registry, missing_data, transforms=None):
    """A dataset's type, arguments, paths and pipeline; a wrapper's (``ConcatDataset``'s
    ``datasets``, ``RepeatDataset``'s ``dataset``) inner datasets the same way."""
    import mmengine.dataset  # noqa: F401  registers MMEngine's wrappers (ConcatDataset, ...)

    from .registry import ALL
    try:
        _check_type(item, key, registry)
        _check_paths(item, key)
    except DataPathError as err:
        if missing_data is None:
            raise
        missing_data.append(err)
    for name, forms, example in _DATASET_FORMS:
        _check_form(item.get(name), f'{key}.{name}', forms, example)
    for j, t in enumerate(item.get('pipeline', []) or []):
        _check_type(t, f'{key}.pipeline[{j}]', transforms or ALL['transform'])
    inner = item.get('datasets')
    for j, sub in enumerate(inner if isinstance(inner, (list, tuple)) else []):
        if isinstance(sub, dict):
            _check_dataset(sub, f'{key}.datasets[{j}]', registry, missing_data, transforms)
    if isinstance(item.get('dataset'), dict):
        _check_dataset(item['dataset'], f'{key}.dataset', registry, missing_data, transforms)


def _positive(node, name, key, integer=True, allow_zero=False):
    """``node[name]``, when there, passes :func:`check_positive`; else a ConfigError naming it."""
    if name not in node:
        return
    try:
        check_positive(name, node[name], integer=integer, allow_zero=allow_zero)
    except ValueError as err:  # "{name} must be ...": the key replaces the bare name
        raise ConfigError(f'{key}.{name}', str(err)[len(name) + 1:]) from None


def _positive_anywhere(node, name, key):
    """``name`` must be a positive integer wherever it appears under ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == name:
                _positive(node, name, key)
            else:
                _positive_anywhere(v, name, f'{key}.{k}')
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _positive_anywhere(v, name, f'{key}[{i}]')


def _check_paths(dataset, key):
    root = dataset.get('data_root') or ''
    if root and not os.path.isdir(root):
        raise DataPathError(f'{key}.data_root', f"no directory '{root}'")
    ann = dataset.get('ann_file')
    if ann:
        path = ann if os.path.isabs(ann) or not root else os.path.join(root, ann)
        if not os.path.isfile(path):
            raise DataPathError(f'{key}.ann_file', f"no annotation file '{path}'")


def _check_type(item, key, registry, check_args=True):
    from .builder import check_arguments, get_registered
    if not isinstance(item, dict):
        raise ConfigError(key, f'must be a dict with a `type`, got {_describe(item)}')
    if 'type' not in item:
        raise ConfigError(key, 'has no `type`')
    if isinstance(item['type'], str):
        cls = get_registered(registry, item['type'], f'{key}.type')
        if check_args and '.' not in item['type']:
            check_arguments(cls, {k: v for k, v in item.items() if k != 'type'}, key)


def _check_evaluator(item, key, metrics, scope):
    """A dict with ``metrics``, which MMEngine builds as an ``Evaluator``: its type, its metrics."""
    from .builder import get_registered
    evaluators = _runner_registries(scope)['EVALUATOR']
    type_name = item.get('type', 'Evaluator')
    if isinstance(type_name, str) and evaluators.get(type_name) is None \
            and metrics.get(type_name) is not None:
        raise ConfigError(key, f"a dict with `metrics` is built as an Evaluator, but '{type_name}' "
                          'is a metric', f"put it in a list: [dict(type='{type_name}', ...)]")
    get_registered(evaluators, type_name, f'{key}.type')
    inner = item['metrics']
    many = isinstance(inner, (list, tuple))
    for j, metric in enumerate(inner if many else [inner]):
        _check_type(metric, f'{key}.metrics[{j}]' if many else f'{key}.metrics', metrics)


def validate_config(cfg, missing_data=None):
    """:func:`check_config`, then build the model: the composed model of a valid config."""
    from .builder import build_component
    check_config(cfg, missing_data)
    if 'model' not in cfg:
        raise ConfigError('model', 'the config has no `model`')
    model = cfg['model']
    model = model.to_dict() if hasattr(model, 'to_dict') else dict(model)
    scope = _scope(cfg)
    from .registry import MODELS
    registry = scoped_registry(MODELS, scope)
    if registry is MODELS:
        return build_component(model, 'model', 'task')
    from mmengine.config import ConfigDict
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(scope):   # an mmdet / mmseg model reads attributes
        return registry.build(ConfigDict(model))
