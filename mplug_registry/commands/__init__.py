"""The run commands ``mplug-registry train|test|infer`` (``tools/train.py`` ... call the same code).

Each module has ``parse_args(argv)`` and ``main(argv)``; they import torch and MMEngine, so the CLI
imports a module only when its command runs.
"""


def add_runner_args(p):
    """The arguments every runner command shares: config overrides and the distributed launcher."""
    from mmengine.config import DictAction
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='override config keys, e.g. train_cfg.max_epochs=2')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0)
