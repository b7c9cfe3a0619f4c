"""Built-in necks: vision features -> multi-scale maps for dense heads (ViTDet's simple pyramid)."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from mplug_registry.lazy import register_package
    register_package(__name__, __path__)
