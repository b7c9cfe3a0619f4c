"""Evaluate a checkpoint:  mplug-registry test CONFIG CHECKPOINT [--out results.pkl]

Also ``python tools/test.py CONFIG CHECKPOINT ...``.
"""
import argparse
import json
import os


from mplug_registry.commands import add_runner_args
from mplug_registry.config import load_config
from mplug_registry.errors import ConfigError
from mplug_registry.runtime import build_runner, default_work_dir, distributed_teardown, user_errors


def parse_args(argv=None, prog=None):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument('config', help='config file or PLUGIN::path')
    p.add_argument('checkpoint', help='checkpoint file (.pth)')
    p.add_argument('--work-dir', help='where the test logs go')
    p.add_argument('--out', help='dump the raw predictions to this .pkl file')
    p.add_argument('--show-dir', help='write pictures of the predictions (image + prediction) here')
    p.add_argument('--show-max', type=int, default=100, help='at most this many pictures')
    add_runner_args(p)
    return p.parse_args(argv)


def main(argv=None, prog=None):
    """``prog``: the name in usage and error lines (default: the script's, errors as ``test``)."""
    args = parse_args(argv, prog)
    with user_errors(prog or 'test'), distributed_teardown():
        if not os.path.isfile(args.checkpoint):
            raise ConfigError('checkpoint', f"no checkpoint file at '{args.checkpoint}'")
        cfg = load_config(args.config, args.cfg_options)
        cfg.launcher = args.launcher
        cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
        cfg.load_from, cfg.resume = args.checkpoint, False
        if args.out:
            cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) \
                else list(cfg.test_evaluator)
            cfg.test_evaluator.append(dict(type='mmengine.DumpResults', out_file_path=args.out))
        if args.show_dir:
            cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(
                type='PredictionVisualizationHook', out_dir=args.show_dir, max_images=args.show_max)]
        runner = build_runner(cfg)
        metrics = runner.test()
        # mmseg's metrics are numpy scalars: plain numbers before printing
        metrics = {k: v.item() if hasattr(v, 'item') else v for k, v in metrics.items()}
        print(json.dumps({k: round(v, 6) if isinstance(v, float) else v
                          for k, v in metrics.items()}))


if __name__ == '__main__':
    main()
