"""Built-in runtime components: DeepSpeed strategy for CPU and GPU, bf16 autocast optim wrapper."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    # every module of this family registers its classes with @register_module when imported
    from mplug_registry_plugins.layers.registration import import_submodules
    import_submodules(__name__, __path__)
