"""Train a model from a config:  python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]

The same as ``mplug-registry train``; the code is in :mod:`mplug_registry.commands.train`.
"""
from mplug_registry.commands.train import main

if __name__ == '__main__':
    main()
