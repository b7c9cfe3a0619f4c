"""Built-in evaluation metrics."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from . import accuracy  # noqa: F401
