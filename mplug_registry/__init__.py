"""mplug-registry: a plugin-based multi-task framework for multimodal models.

Importing this package is cheap: it does not import torch models, mmdet, mmseg, transformers or
deepspeed. Plugins are discovered on first use of a registry (or by :func:`load_plugins`).
"""
from .hookspecs import hookimpl, hookspec
from .kinds import KINDS

__version__ = '0.1.0'

__all__ = ['hookimpl', 'hookspec', 'KINDS', 'load_plugins', '__version__']


def load_plugins(strict=None):
    """Discover and load every plugin of the ``mplug_registry.plugins`` entry-point group (once)."""
    from .plugin_manager import get_plugin_manager
    return get_plugin_manager(strict=strict)
