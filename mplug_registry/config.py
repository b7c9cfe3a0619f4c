"""Config files: ``PLUGIN::path`` resolution, loading with ``--cfg-options``, static checks."""
import os

from .errors import ConfigError, close_match

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
    except (SyntaxError, FileNotFoundError, KeyError, NameError, ImportError) as err:
        raise ConfigError('config', f"cannot load '{path}': {type(err).__name__}: {err}") from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault('default_scope', 'mplug_registry')
    return cfg


def _get(cfg, dotted):
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_config(cfg):
    """Check the ``type`` of every main section and every pipeline transform (no building)."""
    from .registry import ALL
    if hasattr(cfg, 'to_dict'):  # an mmengine Config
        cfg = cfg.to_dict()
    registries = {'model': ALL['model'], 'dataset': ALL['dataset'], 'metric': ALL['metric']}
    for key, reg_name in _SECTIONS.items():
        node = _get(cfg, key)
        if node is None:
            continue
        for i, item in enumerate(node if isinstance(node, list) else [node]):
            item_key = f'{key}[{i}]' if isinstance(node, list) else key
            _check_type(item, item_key, registries[reg_name])
            if reg_name == 'dataset':
                for j, t in enumerate(item.get('pipeline', []) or []):
                    _check_type(t, f'{item_key}.pipeline[{j}]', ALL['transform'])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = _get(cfg, key)
        if isinstance(loader, dict) and 'batch_size' in loader:
            bs = loader['batch_size']
            if not isinstance(bs, int) or bs <= 0:
                raise ConfigError(f'{key}.batch_size', f'must be a positive integer, got {bs!r}')
    lr = _get(cfg, 'optim_wrapper.optimizer.lr')
    if lr is not None and (not isinstance(lr, (int, float)) or lr <= 0):
        raise ConfigError('optim_wrapper.optimizer.lr', f'must be a positive number, got {lr!r}')


def _check_type(item, key, registry):
    if not isinstance(item, dict):
        raise ConfigError(key, f'must be a dict with a `type`, got {type(item).__name__}')
    if 'type' not in item:
        raise ConfigError(key, 'has no `type`')
    if isinstance(item['type'], str):
        registry.get_checked(item['type'], f'{key}.type')
