# The package list is computed here (setup.cfg cannot rename found packages); all other metadata
# lives in setup.cfg.
from setuptools import find_namespace_packages, find_packages, setup

PLUGINS = 'mplug_registry_plugins'   # the import name of plugins/ (a bare `plugins` would collide)
CONFIGS = f'{PLUGINS}.configs'       # the repository's configs/, shipped for `tasks::<path>`
SKIP = ['__pycache__', '*.__pycache__']


def found(prefix, where):
    """``prefix`` and every directory below ``where`` as sub-packages of it (data folders too)."""
    return [prefix] + [f'{prefix}.{name}' for name in find_namespace_packages(where, exclude=SKIP)]


setup(
    packages=find_packages(include=['mplug_registry', 'mplug_registry.*']) +
    found(PLUGINS, 'plugins') + found(CONFIGS, 'configs'),
    package_dir={PLUGINS: 'plugins', CONFIGS: 'configs'},
)
