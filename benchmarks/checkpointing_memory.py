"""Peak memory of a ViT-B/16 training step with and without activation checkpointing.

mPLUG uses gradient checkpointing for the "runtime memory" of activations, keeping ZeRO for the
static memory of parameters, optimizer states and gradients (mPLUG §4, Table 6). Here every
``DualVisionEncoder`` block is checkpointed with ``with_cp=True``, so a block keeps only its input
for backward and recomputes the rest. This script runs one training step (forward + backward of
``DualVisionEncoder(arch='base')``) in both settings side by side and prints the peak memory of
each and the reduction (target: at least 40% less with checkpointing).

How memory is measured. Each setting runs in a fresh Python process, so neither inherits the
other's allocator state or peak. The worker builds the model and the batch and allocates the
gradient buffers first (parameters and gradients are then in the baseline of both settings), and
measures what the step adds on top of that: saved activations, activation gradients in flight and
kernel workspaces.

- CPU: the worker process starts with ``MALLOC_MMAP_THRESHOLD_=65536``, so glibc serves every
  block over 64 KiB (every activation tensor of this model) with its own ``mmap`` and returns it
  with ``munmap`` when the tensor is freed; the resident set size then follows the live tensors
  instead of the allocator's high-water heap. Baseline = the current RSS just before the step
  (``/proc/self/statm``); peak = ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after it (the
  kernel's record of the process's largest RSS). If the step does not raise the peak above what
  model building reached, the figure is flagged as unreliable.
- CUDA: ``torch.cuda.memory_allocated()`` before the step and ``torch.cuda.max_memory_allocated()``
  after it (the caching allocator's exact accounting of live tensors).

    python benchmarks/checkpointing_memory.py            # ViT-B/16, batch 8, 224 x 224
    python benchmarks/checkpointing_memory.py --quick    # ViT-B/16, batch 2, 224 x 224
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

TARGET = 0.40     # fraction of the step's memory saved by checkpointing
SIZES = {'full': dict(batch=8, image_size=224), 'quick': dict(batch=2, image_size=224)}
MIB = 2 ** 20


def current_rss():
    """Resident set size of this process in bytes (Linux), or ``None`` elsewhere."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError):
        return None


def max_rss():
    """Peak resident set size of this process in bytes (``ru_maxrss`` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024


def worker(args):
    """One training step in this process; prints a JSON record."""
    import torch

    from mplug_registry_plugins.encoders.vision import DualVisionEncoder
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = DualVisionEncoder(arch=args.arch, image_size=args.image_size,
                              with_cp=args.with_cp).to(device).train()
    shape = (args.batch, args.frames, 3) if args.frames else (args.batch, 3)
    images = torch.randn(*shape, args.image_size, args.image_size, device=device)
    for p in model.parameters():                      # gradients belong to the baseline
        p.grad = torch.zeros_like(p)
    cuda = device.type == 'cuda'
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before, peak_before = torch.cuda.memory_allocated(), None
    else:
        before, peak_before = current_rss(), max_rss()
        before = peak_before if before is None else before
    start = time.perf_counter()
    loss = model(images).tokens.float().square().mean()   # [B, 1+L, C] -> scalar
    loss.backward()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() if cuda else max_rss()
    print(json.dumps(dict(with_cp=args.with_cp, before=before, peak=peak, seconds=seconds,
                          loss=loss.item(), reliable=cuda or peak > peak_before)))


def measure(args, with_cp):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', '--device', args.device,
           '--arch', args.arch, '--batch', str(args.batch), '--image-size', str(args.image_size),
           '--frames', str(args.frames)] + (['--with-cp'] if with_cp else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f'worker with_cp={with_cp} failed:\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='batch 2 instead of 8')
    parser.add_argument('--batch', type=int, help='override the batch size')
    parser.add_argument('--image-size', type=int, help='override the image size')
    parser.add_argument('--frames', type=int, default=0, help='video frames T (0: images)')
    parser.add_argument('--arch', default='base', help='DualVisionEncoder preset (ViT-B/16)')
    parser.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--with-cp', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = SIZES['quick' if args.quick else 'full']
    args.batch = args.batch or size['batch']
    args.image_size = args.image_size or size['image_size']
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.worker:
        return worker(args)

    what = f'{args.frames}-frame videos' if args.frames else 'images'
    method = ('torch.cuda.max_memory_allocated' if args.device == 'cuda'
              else 'peak RSS (ru_maxrss) in a fresh process, 64 KiB mmap threshold')
    print(f'DualVisionEncoder(arch={args.arch!r}) training step, batch {args.batch} of {what} at '
          f'{args.image_size}x{args.image_size} on {args.device}; {method}')
    runs = {with_cp: measure(args, with_cp) for with_cp in (False, True)}
    print(f"{'with_cp':>8} {'baseline MiB':>13} {'peak MiB':>9} {'step MiB':>9} {'step s':>7}"
          f" {'loss':>9}")
    for with_cp, r in runs.items():
        step = r['peak'] - r['before']
        flag = '' if r['reliable'] else '  (unreliable: peak reached before the step)'
        print(f"{str(with_cp):>8} {r['before'] / MIB:13.0f} {r['peak'] / MIB:9.0f} "
              f"{step / MIB:9.0f} {r['seconds']:7.2f} {r['loss']:9.5f}{flag}")
    plain, cp = runs[False], runs[True]
    step_cut = 1 - (cp['peak'] - cp['before']) / (plain['peak'] - plain['before'])
    total_cut = 1 - cp['peak'] / plain['peak']
    print(f'step memory (activations) reduced by {100 * step_cut:.1f}% '
          f'(target >= {100 * TARGET:.0f}%: {"met" if step_cut >= TARGET else "NOT met"}); '
          f'total peak reduced by {100 * total_cut:.1f}%; '
          f"step time x{cp['seconds'] / plain['seconds']:.2f} with checkpointing")


if __name__ == '__main__':
    main()
