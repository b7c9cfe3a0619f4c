"""Helper for the plugin families' registration hooks."""
import importlib
import pkgutil


def import_submodules(package_name, package_path):
    """Import every module of a plugin family, so their ``@register_module`` decorators run."""
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda i: i.name):
        if not info.name.startswith('_'):
            importlib.import_module(f'{package_name}.{info.name}')
