"""Build one component from a config dict, turning bad input into one-line :class:`ConfigError`s."""
import contextlib
import inspect
import re

from .errors import ConfigError, DataPathError, MplugRegistryError, UnknownTypeError, close_match

_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")
_MISSING = re.compile(r"missing \d+ required positional argument[s]?: (.+)$")


def constructor_params(cls):
    """``{name: default or inspect.Parameter.empty}`` of a class's constructor."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}
    return {n: p.default for n, p in sig.parameters.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def get_registered(registry, type_name, key):
    """``type_name`` looked up as MMEngine builds it from ``registry`` (any MMEngine registry: the
    registry and its ancestors, or the registry of a ``scope.`` prefix), else a one-line
    :class:`UnknownTypeError` naming ``key`` with the closest name of that search."""
    if not isinstance(type_name, str):
        if isinstance(type_name, type) or callable(type_name):
            return type_name
        raise ConfigError(key, f'`type` must be a registered name, got {type_name!r}')
    obj = registry.get(type_name)
    if obj is not None:
        return obj
    scope, _ = registry.split_scope_key(type_name)
    if scope is None:
        home, prefix = registry, ''
    elif scope == registry.scope:
        home, prefix = registry, f'{scope}.'
    else:
        home, prefix = registry._get_root_registry()._search_child(scope), f'{scope}.'
    if home is None:
        raise UnknownTypeError(key, type_name, registry.name, [], hint=(
            f"no '{scope}' registry is loaded and no importable object has that name"))
    known, node = [], home
    while node is not None:  # MMEngine looks further up, except for the registry's own scope
        known += [prefix + name for name in node.module_dict]
        node = None if scope == registry.scope else node.parent
    raise UnknownTypeError(key, type_name, registry.name, known)


def check_arguments(cls, args, key):
    """Without building: every argument exists (close match otherwise) and, when the class has a
    ``check_args(**args)`` classmethod, the values are valid. Raises one-line ConfigErrors."""
    if not inspect.isclass(cls):
        return
    # `_scope_`: MMEngine's mark on configs inherited from another package, popped when building
    args = {name: value for name, value in args.items() if name != '_scope_'}
    params = constructor_params(cls)
    try:
        has_var_kw = any(p.kind == p.VAR_KEYWORD
                         for p in inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        has_var_kw = True
    if not has_var_kw:
        for name in args:
            if name not in params:
                match = close_match(name, params)
                raise ConfigError(f'{key}.{name}', f"{cls.__name__} has no argument '{name}'",
                                  f"did you mean '{match}'?" if match else
                                  f'its arguments: {", ".join(params) or "none"}')
    checker = getattr(cls, 'check_args', None)
    if checker is not None:
        try:
            checker(**args)
        except MplugRegistryError:
            raise
        except FileNotFoundError as err:
            raise DataPathError(key, f'{cls.__name__}: {err}') from err
        except (ValueError, TypeError) as err:
            raise ConfigError(key, f'{cls.__name__}: {err}') from err


@contextlib.contextmanager
def _own_scope(type_name, registry):
    """Build another scope's component (``mmseg.FCNHead``) in its scope, so that what it builds
    inside (its loss, ...) is looked up in that scope's registries, not in ours."""
    scope = type_name.split('.')[0] if isinstance(type_name, str) and '.' in type_name else None
    if scope is None or scope == registry.scope:
        yield
        return
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        yield


def build_component(cfg, key, kind=None, registry=None, **extra):
    """Build ``cfg`` (a dict with ``type``) from ``registry`` (default: MODELS).

    ``key`` is the dotted config key used in error messages; ``kind`` the kind(s) the slot takes.
    Already-built objects are returned as they are (after the kind check).
    """
    from .kinds import kind_of_class
    if registry is None:
        from .registry import MODELS as registry
    if not isinstance(cfg, dict):
        if kind is not None and kind_of_class(type(cfg)) is not None:
            kinds = (kind, ) if isinstance(kind, str) else tuple(kind)
            if kind_of_class(type(cfg)) not in kinds:
                raise ConfigError(key, f'{type(cfg).__name__} is a {kind_of_class(type(cfg))}, '
                                  f"but this slot takes a {' or '.join(kinds)}")
        return cfg
    args = dict(cfg)
    if 'type' not in args:
        raise ConfigError(key, 'has no `type`', 'name a registered component, e.g. '
                          "type='DualVisionEncoder'")
    type_name = args.pop('type')
    cls = registry.get_checked(type_name, f'{key}.type', kind)
    args.update(extra)
    check_arguments(cls, args, key)
    try:
        with _own_scope(type_name, registry):
            return cls(**args)
    except MplugRegistryError:
        raise
    except (ValueError, AssertionError) as err:
        raise ConfigError(key, f'{getattr(cls, "__name__", cls)}: {err}') from err
    except TypeError as err:
        msg = str(err)
        if _MISSING.search(msg):
            raise ConfigError(key, f'{getattr(cls, "__name__", cls)} needs '
                              f'{_MISSING.search(msg).group(1)}') from err
        raise
