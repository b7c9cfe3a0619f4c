"""python -m mplug_registry_plugins.datasets.shapes.vocab: regenerate the shipped vocabulary."""
from mplug_registry_plugins.datasets.shapes.vocab import get_model_path, write

print(f'wrote {get_model_path()} ({write()} entries)')
