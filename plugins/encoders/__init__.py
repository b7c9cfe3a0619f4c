"""Built-in encoders: the dual-vision encoder (mPLUG-2 §3.1), the BERT text encoder, MoME (VL-BEiT)."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    from . import vision  # noqa: F401  (classes register themselves with @MODELS.register_module)
