"""Hook specifications of mplug-registry plugins.

A plugin is a module (or any object) named by an entry point in the group ``mplug_registry.plugins``
of an installed distribution. It implements some of these hooks with the :data:`hookimpl` marker::

    from mplug_registry import hookimpl

    @hookimpl
    def mplug_registry_register(registries):
        from . import my_module          # its @registries.MODELS.register_module() decorators run here

No base class is needed. Built-in plugin families (encoders, fusion, heads, ...) are loaded through the
same group, so ``mplug-registry plugins`` shows them next to third-party ones.
"""
import pluggy

PROJECT = 'mplug_registry'
ENTRY_POINT_GROUP = 'mplug_registry.plugins'

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def mplug_registry_register(registries):
    """Register the plugin's components.

    Called once per plugin, right after it is loaded, while the host records which plugin owns what
    is registered. ``registries`` is the :mod:`mplug_registry.registry` module: register with
    ``registries.MODELS.register_module(kind=...)`` (or import modules whose classes carry the
    decorator). Heavy libraries (mmdet, transformers, ...) should be imported inside the components'
    constructors, not here, so that listing stays cheap. Raising here marks the plugin as failed
    and rolls back what it registered; the host keeps working.
    """


@hookspec
def mplug_registry_config_dirs():
    """Return a list of directories holding config files this plugin ships.

    ``tools/train.py PLUGIN::sub/dir/config.py`` resolves ``sub/dir/config.py`` against the
    directories returned by plugin ``PLUGIN`` (its entry-point name or its distribution name).
    """
