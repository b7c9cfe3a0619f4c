"""Dense vision tasks through MMDetection and MMSegmentation (mPLUG-2 Table 2: detection and
segmentation rows): our backbone and checked datasets, used inside mmdet / mmseg models and
pipelines through cross-scope types (``type='mplug_registry.DualVisionBackbone'``)."""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    import importlib.util
    missing = [m for m in ('mmdet', 'mmseg') if importlib.util.find_spec(m) is None]
    if missing:
        from mplug_registry.errors import PluginError
        raise PluginError(f"the 'dense' plugins need {' and '.join(missing)}: "
                          "pip install 'mplug-registry[openmmlab]'")
    from mplug_registry.lazy import register_package
    register_package(__name__, __path__)
