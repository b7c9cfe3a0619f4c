"""Built-in task heads."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from . import classification  # noqa: F401
