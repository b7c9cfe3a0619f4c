"""Discovery and robust loading of plugins (pluggy + the ``mplug_registry.plugins`` entry points).

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to import; the
host must keep working instead, so entry points are iterated here, each loaded in isolation and
then handed to pluggy's :class:`~pluggy.PluginManager`, which runs its hooks.

Listing is cheap for every plugin, built-in or third-party: the first load of a plugin records
what it registered (name, registry, defining module, kind) and its config directories in an index
(:mod:`.lazy`), keyed by the plugin's distribution, version and source files. Later processes list
those components without importing the plugin's module; a component's module is imported when it
is first built. Editing the plugin's files (or upgrading it) rebuilds the index.

Environment:

``MPLUG_REGISTRY_DISABLE_PLUGINS=a,b``
    do not load these plugins (entry-point names or distribution names).
``MPLUG_REGISTRY_STRICT_PLUGINS=1``
    a plugin that fails to load raises :class:`~mplug_registry.errors.PluginError` instead of
    being reported and skipped.
"""
import dataclasses
import importlib.metadata as metadata
import logging
import os
import threading
import traceback

import pluggy

from . import hookspecs
from .errors import PluginError
from .lazy import plugin_index, read_index, write_index

DISABLE_ENV = 'MPLUG_REGISTRY_DISABLE_PLUGINS'
STRICT_ENV = 'MPLUG_REGISTRY_STRICT_PLUGINS'

logger = logging.getLogger('mplug_registry')


@dataclasses.dataclass
class PluginRecord:
    """What the host knows about one plugin."""
    name: str
    value: str                  # the entry point's target, e.g. 'pkg.module'
    dist: str = '<unknown>'
    version: str = ''
    status: str = 'pending'     # loaded | failed | disabled
    error: str = ''             # one line: 'ExcType: message'
    details: str = ''           # the full traceback, for `mplug-registry plugins -v`
    components: list = dataclasses.field(default_factory=list)  # [(registry, name)]
    module: object = None       # None while listed from the index (not imported)
    indexed_config_dirs: list = dataclasses.field(default_factory=list)

    @property
    def owner(self):
        return (self.name, self.dist, self.version)


def _env_flag(name):
    return os.environ.get(name, '').strip().lower() in ('1', 'true', 'yes', 'on')


def _disabled_names():
    raw = os.environ.get(DISABLE_ENV, '')
    return {n.strip() for n in raw.split(',') if n.strip()}


def _warn_one_line(message):
    """One warning line on stderr, even when the application configured no logging."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter('mplug-registry %(levelname)s: %(message)s'))
        logger.addHandler(handler)
        logger.propagate = False
    logger.warning(message)


class PluginManager:
    """Loads every plugin once and keeps a :class:`PluginRecord` for each."""

    def __init__(self, strict=None):
        self.strict = _env_flag(STRICT_ENV) if strict is None else strict
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records = []
        self.loaded = False

    def load(self, entry_points=None):
        """Load the plugins of ``entry_points`` (default: the installed ones)."""
        from . import registry
        if entry_points is None:
            entry_points = metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)
        disabled = _disabled_names()
        # historic: every plugin registered later gets this call at registration time
        self.pm.hook.mplug_registry_register.call_historic(kwargs=dict(registries=registry))
        chosen, seen = [], set()
        for ep in sorted(entry_points, key=lambda e: (not e.value.startswith(
                'mplug_registry_plugins'), e.name)):
            if ep.name in seen:
                continue
            seen.add(ep.name)
            dist = getattr(ep, 'dist', None)
            rec = PluginRecord(name=ep.name, value=ep.value,
                               dist=dist.metadata['Name'] if dist else '<unknown>',
                               version=dist.version if dist else '')
            self.records.append(rec)
            if ep.name in disabled or rec.dist in disabled:
                rec.status = 'disabled'
                continue
            chosen.append((rec, ep))
        # a component belongs to the plugin whose module defines it, also when another plugin's
        # import pulls that module in first (heads importing a metric)
        registry.set_package_owners({rec.value.split(':')[0]: rec.owner for rec, _ in chosen})
        for rec, ep in chosen:
            index = plugin_index(rec)
            if index is not None and self._load_indexed(rec, index, registry):
                continue
            self._load_one(rec, ep.load, registry)
            if index is not None and rec.status == 'loaded':
                self._write_index(rec, index, registry)
        self.loaded = True
        return self

    def _load_indexed(self, rec, index, registry):
        """List the plugin's components from its index without importing it; False: no index."""
        entries = read_index(index)
        if entries is None:
            return False
        try:
            with registry.registering_as(rec.owner):
                for item in entries['components']:
                    registry.ALL[item['registry']].register_lazy(item['name'], item['module'],
                                                                 item['kind'])
        except Exception as exc:  # a collision with another plugin: reported like a failed load
            self._fail(rec, exc, registry)
            return True
        rec.status, rec.indexed_config_dirs = 'loaded', entries['config_dirs']
        rec.components = self._owned(rec, registry)
        return True

    def _write_index(self, rec, index, registry):
        components = []
        for reg_name, name in rec.components:
            reg = registry.ALL[reg_name]
            module = getattr(reg._module_dict.get(name), '__module__', None)
            if not module:
                return  # something the index cannot name: this plugin is imported every time
            components.append(dict(registry=reg_name, name=name, module=module,
                                   kind=reg._kinds.get(name)))
        impl = getattr(rec.module, 'mplug_registry_config_dirs', None)
        dirs = [os.fspath(d) for d in (impl() or [])] if impl is not None else []
        write_index(index, dict(components=components, config_dirs=dirs))

    def register_object(self, name, obj, dist='<in-process>', version=''):
        """Load a plugin object that is not installed (tests, notebooks): same rules as entry points."""
        from . import registry
        rec = PluginRecord(name=name, value=repr(obj), dist=dist, version=version)
        self.records.append(rec)
        self._load_one(rec, lambda: obj, registry)
        return rec

    def _load_one(self, rec, load, registry):
        try:
            with registry.registering_as(rec.owner):
                rec.module = load()
                self.pm.register(rec.module, name=rec.name)
        except Exception as exc:  # a plugin must never take the host down
            self._fail(rec, exc, registry)
            return
        rec.status = 'loaded'
        rec.components = self._owned(rec, registry)

    def _fail(self, rec, exc, registry):
        """Roll back what ``rec`` registered and report it (raise in strict mode)."""
        self._rollback(rec, registry)
        rec.status = 'failed'
        rec.error = f'{type(exc).__name__}: {exc}'.splitlines()[0]
        rec.details = traceback.format_exc()
        if self.strict:
            raise PluginError(f"plugin '{rec.name}' (distribution {rec.dist}) failed to "
                              f'load: {rec.error}') from exc
        _warn_one_line(f"plugin '{rec.name}' (distribution {rec.dist} {rec.version}) failed "
                       f'to load and was skipped: {rec.error} '
                       '[see `mplug-registry plugins`]')

    @staticmethod
    def _owned(rec, registry):
        return [(r.name, n) for r in registry.ALL.values()
                for n, owner in sorted(r._owners.items()) if owner == rec.owner]

    def _rollback(self, rec, registry):
        for reg_name, name in self._owned(rec, registry):
            registry.ALL[reg_name].unregister(name)
        if rec.module is not None and self.pm.is_registered(rec.module):
            self.pm.unregister(rec.module)

    # ------------------------------------------------------------------ queries
    def get(self, name):
        """The record of plugin ``name`` (entry-point or distribution name), or None."""
        for rec in self.records:
            if name in (rec.name, rec.dist):
                return rec
        return None

    def config_dirs(self, name=None):
        """Config directories contributed by one plugin (or all, as {plugin: [dirs]})."""
        out = {}
        for rec in self.records:
            if rec.status != 'loaded' or (name is not None and name not in (rec.name, rec.dist)):
                continue
            if rec.module is None:                      # listed from its index
                if rec.indexed_config_dirs:
                    out[rec.name] = list(rec.indexed_config_dirs)
                continue
            impl = getattr(rec.module, 'mplug_registry_config_dirs', None)
            if impl is not None:
                out[rec.name] = [os.fspath(d) for d in (impl() or [])]
        return out


_MANAGER = None
_LOCK = threading.RLock()


def get_plugin_manager(strict=None):
    """The process-wide plugin manager; loads the plugins on first call."""
    global _MANAGER
    with _LOCK:
        if _MANAGER is None:
            _MANAGER = PluginManager(strict=strict)
            _MANAGER.load()
        return _MANAGER

