"""Built-in decoders (mPLUG-2 "Shared Decoder Module")."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    # every module of this family registers its classes with @register_module when imported;
    # discovery lists them from a cached index without importing them (mplug_registry.lazy)
    from mplug_registry.lazy import register_package
    register_package(__name__, __path__)
