"""Built-in data transforms."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from . import image, packing  # noqa: F401
