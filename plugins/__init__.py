"""The built-in plugins of mplug-registry (import name ``mplug_registry_plugins``).

Each sub-package is one plugin family, loaded through the ``mplug_registry.plugins`` entry points
exactly like a third-party plugin. ``layers`` holds building blocks shared by the families.
"""
