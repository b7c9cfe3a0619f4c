"""Temporal modules of the dual-vision encoder compared in one run, as mPLUG-2 Table 15 does.

The video-classification config trains once per temporal module (LT, temporal self-attention,
temporal convolution, none) with the same data, seed, schedule and budget; each is evaluated on the
moving-shapes validation clips. Printed: accuracy on the direction labels (moves left / right / up /
down: a clip played backwards is the opposite label, so a model that does not use the order of the
frames can at best tell horizontal from vertical: 0.5), on appear / disappear (likewise: 0.5 at
best without order) and on all 7 events, beside chance, with the parameters of each encoder and
its training time.

    python tools/make_moving_shapes.py
    python benchmarks/temporal_ablation.py                  # 4 runs of the config's budget
    python benchmarks/temporal_ablation.py --epochs 2 --modules LocalTemporal none
"""
import argparse
import os
import tempfile
import time

CONFIG = 'configs/video_classification/video_cls_tiny_moving_shapes.py'
MODULES = ('LocalTemporal', 'TemporalSelfAttention', 'TemporalConv', 'none')
DIRECTIONS = ('moves left', 'moves right', 'moves up', 'moves down')
APPEARANCE = ('appears', 'disappears')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--data-root', default='data/moving_shapes')
    p.add_argument('--modules', nargs='+', default=list(MODULES), choices=MODULES)
    p.add_argument('--epochs', type=int, help='override the config\'s max_epochs')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def train_and_eval(args, module, work_dir):
    import torch
    from mmengine.runner import Runner

    from mplug_registry.config import load_config
    cfg = load_config(args.config)
    cfg.model.vision_encoder.temporal = None if module == 'none' else module
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = args.data_root
    if args.epochs:
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = args.epochs
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10 ** 6)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - start
    model = runner.model.eval()
    classes = runner.val_dataloader.dataset.metainfo['classes']
    hits, counts = [0] * len(classes), [0] * len(classes)
    with torch.no_grad():
        for batch in runner.val_dataloader:
            for sample in model.test_step(batch):
                label = int(sample.gt_label)
                counts[label] += 1
                hits[label] += int(int(sample.pred_label) == label)
    params = sum(p.numel() for p in model.vision_encoder.parameters())

    def acc(names):
        idx = [classes.index(n) for n in names]
        return sum(hits[i] for i in idx) / max(1, sum(counts[i] for i in idx))
    return dict(module=module, directions=acc(DIRECTIONS), appearance=acc(APPEARANCE),
                all=acc(classes), params=params, seconds=seconds)


def main():
    args = parse_args()
    if not os.path.isdir(args.data_root):
        raise SystemExit(f"no data at '{args.data_root}': run python tools/make_moving_shapes.py")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for module in args.modules:
            print(f'--- training with temporal={module!r}', flush=True)
            rows.append(train_and_eval(args, module, os.path.join(tmp, module)))
    print()
    print('Temporal module of DualVisionEncoder (mPLUG-2 Table 15 in spirit), moving-shapes val:')
    print(f'| temporal module | directions (4) | appear/disappear (2) | all 7 | encoder params | '
          f'train time |')
    print('|---|---|---|---|---|---|')
    print(f'| chance | {1 / 4:.3f} | {1 / 2:.3f} | {1 / 7:.3f} | | |')
    for r in rows:
        print(f"| {r['module']} | {r['directions']:.3f} | {r['appearance']:.3f} | {r['all']:.3f} "
              f"| {r['params']:,} | {r['seconds'] / 60:.1f} min |")
    print('Without order a model can at best tell horizontal from vertical (directions 0.5) and '
          'cannot tell appear from disappear (0.5).')


if __name__ == '__main__':
    main()
