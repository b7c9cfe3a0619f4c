"""Train a model from a config:  mplug-registry train CONFIG [--work-dir DIR] [--resume [CKPT]]

Also ``python tools/train.py CONFIG ...``. CONFIG may be a file or ``PLUGIN::path/config.py`` (a
config shipped by a plugin package).
"""
import argparse


from mplug_registry.commands import add_runner_args
from mplug_registry.config import load_config
from mplug_registry.runtime import (apply_amp, build_runner, check_pretrained_inits,
                                    default_work_dir, distributed_teardown, user_errors)


def parse_args(argv=None, prog=None):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument('config', help='config file or PLUGIN::path')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config>)')
    p.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                   help='resume from CKPT, or from the latest checkpoint of the work dir')
    p.add_argument('--amp', action='store_true',
                   help='mixed precision: bf16 autocast on CPU / bf16 GPUs, else fp16 with loss scaling')
    p.add_argument('--val-at-start', action='store_true',
                   help='validate once before training, to log the metrics at step 0')
    add_runner_args(p)
    return p.parse_args(argv)


def main(argv=None, prog=None):
    """``prog``: the name in usage and error lines (default: the script's, errors as ``train``)."""
    args = parse_args(argv, prog)
    with user_errors(prog or 'train'), distributed_teardown():
        cfg = load_config(args.config, args.cfg_options)
        cfg.launcher = args.launcher
        cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
        if args.amp:
            apply_amp(cfg)
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume:
            cfg.resume, cfg.load_from = True, args.resume
        if args.val_at_start:
            cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
                dict(type='mplug_registry.ValidateAtStartHook')]
        check_pretrained_inits(cfg)
        runner = build_runner(cfg)
        runner.train()


if __name__ == '__main__':
    main()
