"""What ``tools/train.py``, ``tools/test.py`` and the CLI share: clean errors, runner set-up."""
import contextlib
import os
import sys

from .errors import MplugRegistryError


@contextlib.contextmanager
def user_errors(prog='mplug-registry'):
    """Print a :class:`MplugRegistryError` as one line and exit 2; bugs keep their traceback."""
    try:
        yield
    except MplugRegistryError as err:
        print(f'{prog}: error: {err}', file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(f'{prog}: interrupted', file=sys.stderr)
        raise SystemExit(130) from None


def default_work_dir(config_path):
    stem = os.path.splitext(os.path.basename(config_path.split('::')[-1]))[0]
    return os.path.join('work_dirs', stem)


def build_runner(cfg):
    """MMEngine ``Runner`` (or ``FlexibleRunner`` when the config names a ``strategy``)."""
    from .checkpoint import allow_mmengine_checkpoints
    from .config import check_config
    allow_mmengine_checkpoints()
    check_config(cfg)
    if cfg.get('strategy') is not None or cfg.get('runner_type') == 'FlexibleRunner':
        from mmengine.runner import FlexibleRunner
        return FlexibleRunner.from_cfg(cfg)
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg)
