"""Built-in datasets."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from . import digits  # noqa: F401
