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
    """The built-in configs: ``mplug_registry_plugins/configs`` of an installed wheel, else the
    repository's ``configs/`` next to ``plugins/`` (a source checkout / editable install)."""
    from pathlib import Path
    package = Path(__file__).resolve().parents[1]
    for configs in (package / 'configs', package.parent / 'configs'):
        # the checkout's only in the source layout, never a stray site-packages/configs
        if configs.is_dir() and (configs.parent == package or package.name == 'plugins'):
            return [str(configs)]
    return []
