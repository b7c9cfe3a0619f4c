"""Whole-model components: the composed model and its data preprocessor.

Registered here through the hook, by calls (the classes live in the core package
``mplug_registry.model``), to show the second way a plugin can register components: listed lazily,
imported when first built.
"""
from mplug_registry import hookimpl


@hookimpl
def mplug_registry_register(registries):
    registries.MODELS.register_lazy('ComposedModel', 'mplug_registry.model.composed', 'task')
    registries.MODELS.register_lazy('MultimodalDataPreprocessor',
                                    'mplug_registry.model.preprocessor', 'other')


@hookimpl
def mplug_registry_config_dirs():
    """The repository's ``configs/`` (present in a source checkout / editable install)."""
    from pathlib import Path
    configs = Path(__file__).resolve().parents[2] / 'configs'
    return [str(configs)] if configs.is_dir() else []
