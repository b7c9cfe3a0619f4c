"""Built-in encoders: the dual-vision encoder (mPLUG-2 §3.1), the BERT text encoder, MoME (VL-BEiT)."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    # every module of this family registers its classes with @register_module when imported
    from mplug_registry_plugins.layers.registration import import_submodules
    import_submodules(__name__, __path__)
