"""Cost of composing through the registry, measured side by side in one run.

1. Training-step time of a registry-composed ``ComposedModel`` against the *same module objects*
   wired by hand in a plain ``nn.Module`` (vision encoder -> universal layers -> classification
   head, cross-entropy, AdamW step). Same weights, same batch; the steps are interleaved and the
   medians compared. Target: composed / direct <= 1.02.
2. ``import mplug_registry`` + plugin discovery (loading every installed plugin and listing its
   components), in fresh interpreters, and which heavy libraries that imported.
   Target: <= 1.5 s, none of mmdet, mmseg, transformers, deepspeed.
3. The same with one third-party plugin installed, written like the README's example (torch
   imported at the top of its module): after the first listing indexed it, listing must not import
   it. Target: <= 1.5 s and at most 1.5x the time without it, torch not imported.

    python benchmarks/overhead.py            # digits_tiny sizes (the main job's model)
    python benchmarks/overhead.py --quick
"""
import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mplug_registry.builder import build_component
from mplug_registry.structures import MultimodalDataSample

STEP_TARGET, IMPORT_TARGET = 1.02, 1.5
HEAVY = ('mmdet', 'mmseg', 'transformers', 'deepspeed', 'torch')
#: a plugin package written like the README's example: torch at the top of its module
PLUGIN = {
    'bench_cosine_head.py': '''
        import torch
        from mplug_registry.model.base import BaseHead
        from mplug_registry.registry import MODELS

        @MODELS.register_module()
        class BenchCosineHead(BaseHead):
            def __init__(self, num_classes=10, in_dims=192):
                super().__init__()
                self.weight = torch.nn.Parameter(torch.zeros(num_classes, in_dims))
        ''',
    'bench_cosine_head-0.1.dist-info/METADATA':
        'Metadata-Version: 2.1\nName: bench-cosine-head\nVersion: 0.1\n',
    'bench_cosine_head-0.1.dist-info/entry_points.txt':
        '[mplug_registry.plugins]\nbench_cosine = bench_cosine_head\n',
}
MODEL = dict(
    type='ComposedModel',
    vision_encoder=dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=4),
    universal=dict(type='UniversalLayers', embed_dims=192, num_latents=16, num_layers=1,
                   num_heads=3),
    heads=dict(cls=dict(type='ClassificationHead', num_classes=10, in_dims=192)))


class Direct(torch.nn.Module):
    """The same modules called by hand: what a user would write without the framework."""

    def __init__(self, composed):
        super().__init__()
        self.encoder, self.universal = composed.vision_encoder, composed.universal
        self.fc = composed.heads['cls'].fc

    def forward(self, images, labels):
        vision, _ = self.universal(self.encoder(images), None)
        return F.cross_entropy(self.fc(vision.pooled), labels)


def step_times(batch, repeats, warmup=3):
    torch.manual_seed(0)
    composed = build_component(copy.deepcopy(MODEL), 'model', 'task')
    direct = Direct(copy.deepcopy(composed))
    images = torch.randint(0, 255, (batch, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (batch, ))
    samples = [MultimodalDataSample(gt_label=lbl) for lbl in labels]
    opt_c = torch.optim.AdamW(composed.parameters(), lr=1e-4)
    opt_d = torch.optim.AdamW(direct.parameters(), lr=1e-4)

    def composed_step():
        # what MMEngine's train_step does: preprocess, forward(mode='loss'), parse, update
        data = composed.data_preprocessor(dict(inputs=list(images), data_samples=samples), True)
        loss, _ = composed.parse_losses(composed(**data, mode='loss'))
        opt_c.zero_grad()
        loss.backward()
        opt_c.step()

    def direct_step():
        x = (images.float() - composed.data_preprocessor.mean) / composed.data_preprocessor.std
        loss = direct(x, labels)
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()

    times = {'composed': [], 'direct': []}
    for i in range(warmup + repeats):
        order = [('composed', composed_step), ('direct', direct_step)]
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            fn()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


DISCOVER = ('import sys, time; t = time.perf_counter(); import mplug_registry; '
            'from mplug_registry.cli import _records; n = len(_records()); '
            'print(time.perf_counter() - t, n, [m for m in %r if m in sys.modules])' % (HEAVY, ))


def discovery(runs, env=None):
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, '-c', DISCOVER], capture_output=True, text=True,
                             check=True, env=env).stdout.splitlines()[-1].split(maxsplit=2)
        results.append((float(out[0]), int(out[1]), out[2].strip()))
    return min(r[0] for r in results), statistics.median(r[0] for r in results), results[0]


def with_plugin_env(root):
    """The environment of a process that sees the third-party plugin under ``root``."""
    for rel, text in PLUGIN.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    env = dict(os.environ, MPLUG_REGISTRY_CACHE=str(root / 'cache'))
    env['PYTHONPATH'] = os.pathsep.join([str(root), env.get('PYTHONPATH', '')])
    return env


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true')
    args = p.parse_args()
    batch, repeats, runs = (8, 10, 3) if args.quick else (32, 30, 5)
    t = step_times(batch, repeats)
    ratio = t['composed'] / t['direct']
    print(f'training step, batch {batch}, median of {repeats} interleaved steps, '
          f'{torch.get_num_threads()} threads')
    print(f"  direct modules    {t['direct'] * 1e3:8.2f} ms")
    print(f"  ComposedModel     {t['composed'] * 1e3:8.2f} ms   ratio {ratio:.3f} "
          f"(target <= {STEP_TARGET}: {'MET' if ratio <= STEP_TARGET else 'NOT MET'})")
    best, median, (_, count, heavy) = discovery(runs)
    print(f'import mplug_registry + discovery of {count} components, {runs} fresh interpreters:')
    print(f"  best {best:.2f} s, median {median:.2f} s (target <= {IMPORT_TARGET} s: "
          f"{'MET' if median <= IMPORT_TARGET else 'NOT MET'}); heavy libraries imported: {heavy}")
    with tempfile.TemporaryDirectory() as tmp:
        env = with_plugin_env(Path(tmp))
        cold = discovery(1, env)[0]                            # imports it once, writes its index
        p_best, p_median, (_, p_count, p_heavy) = discovery(runs, env)
    ok = p_median <= IMPORT_TARGET and p_median <= 1.5 * median and 'torch' not in p_heavy
    print(f'the same with a third-party plugin importing torch at its top ({p_count} components):')
    print(f'  first listing {cold:.2f} s (imports and indexes it); then best {p_best:.2f} s, median '
          f'{p_median:.2f} s, {p_median / median:.2f}x without it (target <= {IMPORT_TARGET} s and '
          f"1.5x: {'MET' if ok else 'NOT MET'}); heavy libraries imported: {p_heavy}")


if __name__ == '__main__':
    main()
