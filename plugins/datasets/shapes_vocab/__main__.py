"""python -m mplug_registry_plugins.datasets.shapes_vocab: regenerate the shipped vocabulary."""
from mplug_registry_plugins.datasets.shapes_vocab import get_model_path, write

print(f'wrote {get_model_path()} ({write()} entries)')
