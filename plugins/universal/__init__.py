"""Built-in universal layers (mPLUG-2 "Universal Layers Module")."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from . import universal_layers  # noqa: F401
