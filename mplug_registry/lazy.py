"""Cheap discovery: components are listed from a cached index and imported on first use.

Importing a plugin family imports torch, MMEngine's model package and more (seconds). Listing
components needs none of that: :func:`register_package` imports a package's modules once, records
what they registered (name, registry, module, kind) in an index file, and on later runs registers a
:class:`LazyComponent` per record instead. The index is keyed by the package's files (names, sizes,
modification times), so editing, adding or removing a module rebuilds it. Registry lookups
(``MODELS.get``, ``build``) resolve a lazy record by importing its module, where the class's own
``@register_module`` decorator replaces it with the real class.

The index lives in ``$MPLUG_REGISTRY_CACHE`` (default ``~/.cache/mplug_registry``); when it cannot
be written the package is simply imported every time.
"""
import hashlib
import importlib
import json
import os
import sys

from .errors import PluginError

CACHE_ENV = 'MPLUG_REGISTRY_CACHE'
_INDEX_VERSION = 1


class LazyComponent:
    """Stands in a registry for a component whose module has not been imported yet."""

    def __init__(self, name, module, registry):
        self.__name__ = self.__qualname__ = name
        self.__module__ = module
        self.__doc__ = f'{name} from {module} (imported on first use)'
        self._registry = registry

    def resolve(self):
        """Import the module and return the real component (now also in the registry)."""
        reg = self._registry
        try:
            module = importlib.import_module(self.__module__)
        except Exception as exc:
            plugin, dist, _ = reg.owner_of(self.__name__)
            raise PluginError(f"component '{self.__name__}' of plugin '{plugin}' (distribution "
                              f'{dist}) failed to import from {self.__module__}: '
                              f'{type(exc).__name__}: {exc}') from exc
        obj = reg._module_dict.get(self.__name__)
        if isinstance(obj, LazyComponent):  # registered by a hook call, not by a decorator
            real = getattr(module, self.__name__, None)
            if real is None:
                raise PluginError(f"module {self.__module__} no longer defines '{self.__name__}'; "
                                  f'delete the index in {cache_dir()} to rebuild it')
            reg.replace_lazy(self.__name__, real)
            obj = real
        return obj

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self):
        return f'<lazy {self.__module__}.{self.__name__}>'


def cache_dir():
    default = os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
                           'mplug_registry')
    return os.environ.get(CACHE_ENV) or default


def _py_files(directories):
    """Every ``.py`` file under ``directories``, in a stable order (no ``__pycache__``)."""
    out = []
    for directory in directories:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            out += [os.path.join(root, name) for name in sorted(files) if name.endswith('.py')]
    return out


def _signature(package_name, package_path):
    items = [package_name, sys.version, str(_INDEX_VERSION)]
    for directory in package_path:
        for path in _py_files([directory]):
            st = os.stat(path)
            items.append(f'{os.path.relpath(path, directory)}:{st.st_size}:{st.st_mtime_ns}')
    return hashlib.sha256('\n'.join(items).encode()).hexdigest()[:24]


def _module_names(package_name, package_path):
    import pkgutil
    return [f'{package_name}.{info.name}'
            for info in sorted(pkgutil.iter_modules(package_path), key=lambda i: i.name)
            if not info.name.startswith('_')]


def register_package(package_name, package_path):
    """Register every component of a package: lazily from the index, else by importing it.

    Call it from a plugin's ``mplug_registry_register`` hook:
    ``register_package(__name__, __path__)``.
    """
    from . import registry as registries
    index_file = os.path.join(cache_dir(), f'{package_name}-{_signature(package_name, package_path)}.json')
    try:
        with open(index_file) as f:
            records = json.load(f)
    except (OSError, ValueError):
        records = None
    if records is not None:
        for rec in records:
            registries.ALL[rec['registry']].register_lazy(rec['name'], rec['module'], rec['kind'])
        return
    from ._mmengine import import_mmengine_model
    import_mmengine_model()  # before any plugin module imports mmengine.model (see there)
    modules = _module_names(package_name, package_path)
    for module in modules:
        importlib.import_module(module)
    # what the package's modules define, also when user code imported some of them before the
    # plugins loaded (their decorators then ran outside the plugin: it adopts them)
    records = []
    for reg in registries.ALL.values():
        for name, obj in sorted(reg._module_dict.items()):
            if getattr(obj, '__module__', None) in modules:
                reg.adopt(name)
                records.append(dict(registry=reg.name, name=name, module=obj.__module__,
                                    kind=reg._kinds[name]))
    try:
        from .checkpoint import atomic_write
        atomic_write(json.dumps(records, indent=1), index_file)
    except OSError:
        pass  # no cache: the package is imported at every discovery, nothing else changes


def _target_files(dotted):
    """The source files of an entry point's target module (a package: all its modules), found
    without importing it; ``None`` when they cannot be found that way."""
    import importlib.util
    top, *rest = dotted.split('.')
    try:
        spec = importlib.util.find_spec(top)          # imports nothing for a top-level name
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    dirs, origin = list(spec.submodule_search_locations or []), spec.origin
    for part in rest:
        found = [os.path.join(d, part) for d in dirs if os.path.isdir(os.path.join(d, part))]
        module = [os.path.join(d, f'{part}.py') for d in dirs
                  if os.path.isfile(os.path.join(d, f'{part}.py'))]
        dirs, origin = (found, None) if found else ([], module[0] if module else None)
        if not found and not module:
            return None
    if dirs:
        return _py_files(dirs)
    return [origin] if origin and os.path.isfile(origin) else None


def plugin_index(rec):
    """The index file of a plugin (a :class:`~.plugin_manager.PluginRecord`), named by its
    distribution, version and source files; ``None`` for a target that is not a module."""
    files = None if ':' in rec.value else _target_files(rec.value)
    if not files:
        return None
    items = [rec.name, rec.value, rec.dist, rec.version, sys.version, str(_INDEX_VERSION)]
    for path in sorted(files):
        st = os.stat(path)
        items.append(f'{path}:{st.st_size}:{st.st_mtime_ns}')
    key = hashlib.sha256('\n'.join(items).encode()).hexdigest()[:24]
    return os.path.join(cache_dir(), f'plugin-{rec.name}-{key}.json')


def read_index(path):
    """The stored ``{'components': [...], 'config_dirs': [...]}``, or ``None``."""
    try:
        with open(path) as f:
            entries = json.load(f)
    except (OSError, ValueError):
        return None
    ok = isinstance(entries, dict) and isinstance(entries.get('components'), list) \
        and isinstance(entries.get('config_dirs'), list)
    return entries if ok else None


def write_index(path, entries):
    try:
        from .checkpoint import atomic_write
        atomic_write(json.dumps(entries, indent=1), path)
    except OSError:
        pass  # no cache: the plugin is imported at every discovery, nothing else changes
