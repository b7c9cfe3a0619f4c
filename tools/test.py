"""Evaluate a checkpoint:  python tools/test.py CONFIG CHECKPOINT [--out results.pkl]

The same as ``mplug-registry test``; the code is in :mod:`mplug_registry.commands.test`.
"""
from mplug_registry.commands.test import main

if __name__ == '__main__':
    main()
