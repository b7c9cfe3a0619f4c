"""The run commands ``mplug-registry train|test|infer`` (``tools/train.py`` ... call the same code).

Each module has ``parse_args(argv)`` and ``main(argv)``; they import torch and MMEngine, so the CLI
imports a module only when its command runs.
"""
