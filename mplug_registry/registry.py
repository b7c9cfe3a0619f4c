"""The registries of mplug-registry: children of MMEngine's roots in the scope ``mplug_registry``.

Cross-scope use works both ways, as for any OpenMMLab project: an mmdet/mmseg config can say
``type='mplug_registry.DualVisionEncoder'`` and our configs can say ``type='mmdet.RetinaHead'``.

Each record also carries a *kind* (:mod:`mplug_registry.kinds`) and the plugin and distribution that
registered it. The first lookup in any of these registries loads the plugins (through
``locations=``), so importing this module stays cheap.
"""
import contextlib
import importlib
import threading

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

from .errors import ConfigError, DuplicateComponentError, KindError, UnknownTypeError
from .kinds import KINDS, MODEL_KINDS, external_kind, kind_of_class
from .lazy import LazyComponent

SCOPE = 'mplug_registry'
_AUTOLOAD = ['mplug_registry.autoload']

#: who is registering right now: (plugin name, distribution, version) while a plugin loads
_owner = threading.local()
USER_CODE = ('<user code>', '<none>', '')


@contextlib.contextmanager
def registering_as(owner):
    """Attribute every registration inside the block to ``owner`` = (plugin, distribution, version)."""
    prev = getattr(_owner, 'value', None)
    _owner.value = owner
    try:
        yield
    finally:
        _owner.value = prev


def current_owner():
    return getattr(_owner, 'value', None) or USER_CODE


#: plugin owner by the module of its entry point (set by the plugin manager before loading)
_package_owners = {}


def set_package_owners(owners):
    _package_owners.clear()
    _package_owners.update(owners)


def owner_of_module(module):
    """The plugin whose entry-point module (or package) holds ``module``; else the plugin loading
    now (a hook registering a class defined elsewhere), else user code."""
    hits = [prefix for prefix in _package_owners
            if module == prefix or module.startswith(prefix + '.')]
    return _package_owners[max(hits, key=len)] if hits else current_owner()


class KindRegistry(Registry):
    """An MMEngine :class:`Registry` whose records carry a kind and an owning plugin.

    ``register_module`` takes an extra ``kind=`` argument; without it the kind comes from the class
    (``mplug_kind``, set by the base classes of :mod:`mplug_registry.model.base`), then from the
    registry's ``default_kind``. Registering a name twice (without ``force``) raises
    :class:`DuplicateComponentError` naming both owners.
    """

    def __init__(self, name, *, parent, default_kind=None, allowed_kinds=KINDS, **kwargs):
        super().__init__(name, parent=parent, scope=SCOPE, locations=_AUTOLOAD, **kwargs)
        self.default_kind = default_kind
        self.allowed_kinds = tuple(allowed_kinds)
        self._kinds = {}
        self._owners = {}
        self._pending_kind = None

    # ------------------------------------------------------------------ registration
    def register_module(self, name=None, force=False, module=None, kind=None):
        if kind is not None and kind not in self.allowed_kinds:
            raise ValueError(f"kind '{kind}' is not one of {self.allowed_kinds} "
                             f'(the {self.name} registry)')
        if module is not None:
            with self._with_kind(kind):
                return super().register_module(name=name, force=force, module=module)
        register = super().register_module(name=name, force=force)

        def _register(cls):
            with self._with_kind(kind):
                return register(cls)

        return _register

    @contextlib.contextmanager
    def _with_kind(self, kind):
        prev, self._pending_kind = self._pending_kind, kind
        try:
            yield
        finally:
            self._pending_kind = prev

    def _register_module(self, module, module_name=None, force=False):
        kind = self._pending_kind or kind_of_class(module) or self.default_kind
        if kind not in self.allowed_kinds:
            raise ValueError(
                f'{getattr(module, "__name__", module)} has no kind: subclass one of the base '
                'classes in mplug_registry.model.base or pass register_module(kind=...), one of '
                f'{self.allowed_kinds}')
        names = [module.__name__] if module_name is None else (
            [module_name] if isinstance(module_name, str) else list(module_name))
        owner = owner_of_module(getattr(module, '__module__', None) or '')
        for name in names:
            old = self._module_dict.get(name)
            if isinstance(old, LazyComponent) and old.__module__ == module.__module__:
                # the real class of a lazily listed component: it keeps the listing's owner
                self.replace_lazy(name, module, kind)
                continue
            if old is not None and not force and old is not module:
                raise self._duplicate(name)
            self._module_dict[name] = module
            self._kinds[name] = kind
            self._owners[name] = owner

    def _duplicate(self, name):
        o_plugin, o_dist, _ = self._owners.get(name, USER_CODE)
        plugin, dist, _ = current_owner()
        return DuplicateComponentError(
            f"component '{name}' is registered twice in the {self.name} registry: by plugin "
            f"'{o_plugin}' (distribution {o_dist}) and by plugin '{plugin}' (distribution "
            f'{dist}); rename one of them or block a plugin with MPLUG_REGISTRY_DISABLE_PLUGINS')

    def register_lazy(self, name, module, kind):
        """List ``name`` (defined in ``module``) without importing it; see :mod:`.lazy`."""
        existing = self._module_dict.get(name)
        if existing is not None and getattr(existing, '__module__', None) == module:
            self.adopt(name)  # already imported by user code before the plugins loaded
            return
        if existing is not None:
            raise self._duplicate(name)
        self._module_dict[name] = LazyComponent(name, module, self)
        self._kinds[name] = kind
        self._owners[name] = current_owner()

    def adopt(self, name):
        """Attribute a record made outside any plugin to the plugin loading now."""
        if self._owners.get(name, USER_CODE) == USER_CODE:
            self._owners[name] = current_owner()

    def replace_lazy(self, name, obj, kind=None):
        """Put the imported component in place of its lazy record (same kind and owner)."""
        self._module_dict[name] = obj
        if kind is not None:
            self._kinds[name] = kind

    def import_from_location(self):
        """Import ``locations`` (which loads the plugins) once. MMEngine's version also logs at DEBUG
        level through ``MMLogger``, which imports torch: listing must not pay for that."""
        if not self._imported:
            self._imported = True
            for location in self._locations:
                importlib.import_module(location)

    def get(self, key):
        """MMEngine's ``get``, with lazily listed components imported on access."""
        obj = super().get(key)
        return obj.resolve() if isinstance(obj, LazyComponent) else obj

    def unregister(self, name):
        """Remove a record (used to roll back a plugin that failed half-way)."""
        for table in (self._module_dict, self._kinds, self._owners):
            table.pop(name, None)

    # ------------------------------------------------------------------ lookup
    def kind_of(self, name_or_cls):
        """Kind of a registered name or class; ``'external'`` for other scopes' components."""
        if isinstance(name_or_cls, str):
            self.import_from_location()
            scope, key = self.split_scope_key(name_or_cls)
            if scope in (None, self.scope) and key in self._kinds:
                return self._kinds[key]
            obj = self.get(name_or_cls)
            return kind_of_class(obj) or (external_kind(obj) if obj is not None else None)
        for key, obj in self._module_dict.items():
            if obj is name_or_cls:
                return self._kinds[key]
        return kind_of_class(name_or_cls) or external_kind(name_or_cls)

    def owner_of(self, name):
        return self._owners.get(name, USER_CODE)

    def records(self):
        """Yield ``(name, kind, plugin, distribution, version, obj)`` for every record."""
        self.import_from_location()
        for name, obj in sorted(self._module_dict.items()):
            plugin, dist, version = self._owners.get(name, USER_CODE)
            yield name, self._kinds.get(name), plugin, dist, version, obj

    def get_checked(self, type_name, key, kind=None):
        """Resolve ``type_name`` or raise a one-line :class:`ConfigError` naming ``key``.

        ``kind`` (a string or a tuple of strings) is the kind the slot expects.
        """
        if not isinstance(type_name, str):
            if isinstance(type_name, type) or callable(type_name):
                obj = type_name
            else:
                raise ConfigError(key, f'`type` must be a registered name, got {type_name!r}')
        else:
            obj = self.get(type_name)
            if obj is None:
                scope, _ = self.split_scope_key(type_name)
                other = self._get_root_registry()._search_child(scope) \
                    if scope not in (None, self.scope) else None
                known = [f'{scope}.{n}' for n in other.module_dict] if other is not None \
                    else [n for n, *_ in self.records()]
                raise UnknownTypeError(key, type_name, self.name, known)
        if kind is not None:
            kinds = (kind, ) if isinstance(kind, str) else tuple(kind)
            got = self.kind_of(type_name if isinstance(type_name, str) else obj)
            if got not in kinds:
                name = type_name if isinstance(type_name, str) else obj.__name__
                raise KindError(key, f"'{name}' is a {got}, but this slot takes a "
                                f"{' or '.join(kinds)}")
        return obj


MODELS = KindRegistry('model', parent=MMENGINE_MODELS, allowed_kinds=MODEL_KINDS + ('other', ))
DATASETS = KindRegistry('dataset', parent=MMENGINE_DATASETS, default_kind='dataset')
TRANSFORMS = KindRegistry('transform', parent=MMENGINE_TRANSFORMS, default_kind='transform')
METRICS = KindRegistry('metric', parent=MMENGINE_METRICS, default_kind='metric')
DATA_SAMPLERS = KindRegistry('data sampler', parent=MMENGINE_DATA_SAMPLERS, default_kind='other')
HOOKS = KindRegistry('hook', parent=MMENGINE_HOOKS, default_kind='other')
STRATEGIES = KindRegistry('strategy', parent=MMENGINE_STRATEGIES, default_kind='other')
VISUALIZERS = KindRegistry('visualizer', parent=MMENGINE_VISUALIZERS, default_kind='other')
OPTIM_WRAPPERS = KindRegistry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, default_kind='other')
LOOPS = KindRegistry('loop', parent=MMENGINE_LOOPS, default_kind='other')
# children of the remaining roots a runner builds from (optimizers, schedulers, ...): a plugin may
# register its own, and MMEngine finds our scope there instead of warning that it is missing
OPTIMIZERS = KindRegistry('optimizer', parent=MMENGINE_OPTIMIZERS, default_kind='other')
OPTIM_WRAPPER_CONSTRUCTORS = KindRegistry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    default_kind='other')
PARAM_SCHEDULERS = KindRegistry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                                default_kind='other')
VISBACKENDS = KindRegistry('vis_backend', parent=MMENGINE_VISBACKENDS, default_kind='other')

ALL = {r.name: r for r in (MODELS, DATASETS, TRANSFORMS, METRICS, DATA_SAMPLERS, HOOKS,
                           STRATEGIES, VISUALIZERS, OPTIM_WRAPPERS, LOOPS, OPTIMIZERS,
                           OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS, VISBACKENDS)}
