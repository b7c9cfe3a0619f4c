"""Predict on one input:  python tools/infer.py CONFIG CHECKPOINT [--image PATH | --video PATH] [--question TEXT | --text TEXT]

The same as ``mplug-registry infer``; the code is in :mod:`mplug_registry.commands.infer`.
"""
from mplug_registry.commands.infer import main

if __name__ == '__main__':
    main()
