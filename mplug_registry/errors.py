"""Errors for bad input: one clear line naming the config key, with a close match when there is one.

Tracebacks are for bugs. Everything a user can get wrong in a config raises :class:`ConfigError`
(or a subclass); the CLI and the tools print ``str(err)`` as one line and exit with status 2.
"""
import difflib


class MplugRegistryError(Exception):
    """Base class of the errors this project raises on purpose."""


class ConfigError(MplugRegistryError, ValueError):
    """A config value is wrong. ``key`` is the dotted config key (``model.fusion.type``)."""

    def __init__(self, key, message, hint=None):
        self.key = key
        self.hint = hint
        text = f'{key}: {message}' if key else message
        if hint:
            text += f' ({hint})'
        super().__init__(text)


class DataPathError(ConfigError, FileNotFoundError):
    """A dataset's ``data_root``, annotation or other data file does not exist."""


class UnknownTypeError(ConfigError, KeyError):
    """``type=`` names nothing registered."""

    def __init__(self, key, name, registry_name, known, hint=None):
        match = close_match(name, known)
        hint = f"did you mean '{match}'?" if match else \
            hint or 'run `mplug-registry list` to see the registered names'
        super().__init__(key, f"unknown type '{name}' in the {registry_name} registry", hint)

    def __str__(self):  # KeyError would repr() the message
        return Exception.__str__(self)


class KindError(ConfigError):
    """A component of the wrong kind was put in a slot."""


class DimensionMismatchError(ConfigError):
    """Two connected slots disagree on the hidden size."""


class PluginError(MplugRegistryError):
    """A plugin failed to load (raised only in strict mode) or two plugins collide."""


class DuplicateComponentError(PluginError, KeyError):
    """Two plugins register the same component name in one registry."""

    def __str__(self):
        return Exception.__str__(self)


def close_match(name, candidates):
    """The closest of ``candidates`` to ``name`` (case-insensitive), or None."""
    candidates = list(candidates)
    lower = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(str(name).lower(), list(lower), n=1, cutoff=0.6)
    return lower[hits[0]] if hits else None
