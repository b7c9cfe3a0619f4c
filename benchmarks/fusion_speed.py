"""Forward time of the fusion networks against the skip-connected one (mPLUG §5.3.2, Fig. 4).

mPLUG reports its skip-connected network about 4x faster than connected-attention fusion, because
the long visual sequence goes through a layer only every S+1 layers. This script times the four
registered fusions side by side in one run, with the same inputs, under ``torch.no_grad()``:
warm-up first, then interleaved repeats (the order rotates every repeat), reporting medians, and
the floating-point operations of one forward as counted by ``torch.utils.flop_counter``.

    python benchmarks/fusion_speed.py            # 577 visual + 30 text tokens, C=768, batch 8
    python benchmarks/fusion_speed.py --quick    # a small size, seconds on a CPU
"""
import argparse
import statistics
import time

import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from mplug_registry.registry import MODELS
from mplug_registry.structures import Features

SKIP = 'SkipConnectedFusion'
OTHERS = ('ConnectedAttentionFusion', 'CoAttentionFusion', 'CrossAttentionFusion')
TARGET = 3.0      # connected-attention / skip-connected forward time
SIZES = {
    # ViT-B/16 at 384 px (24 * 24 + 1 tokens), mPLUG's 6 fusion layers of BERT-base width
    'full': dict(batch=8, vision_tokens=577, text_tokens=30, embed_dims=768, num_heads=12,
                 num_layers=6),
    'quick': dict(batch=2, vision_tokens=145, text_tokens=30, embed_dims=256, num_heads=4,
                  num_layers=6),
}


def make_inputs(size, seed=0):
    g = torch.Generator().manual_seed(seed)
    b, nt = size['batch'], size['text_tokens']
    vision = Features(tokens=torch.randn(b, size['vision_tokens'], size['embed_dims'],
                                         generator=g))
    lengths = torch.randint(nt // 2, nt + 1, (b, ), generator=g)        # padded captions
    text_mask = (torch.arange(nt)[None] < lengths[:, None]).long()      # [B, Nt]
    text = Features(tokens=torch.randn(b, nt, size['embed_dims'], generator=g), mask=text_mask)
    return vision, text


def _sdpa_cpu_flops(query, key, value, *args, out_shape=None, **kwargs):
    return flop_counter.sdpa_flop_count(query, key, value)


def count_flops(model, vision, text):
    # the CPU attention kernel is not in torch's FLOP registry: count it like the GPU kernels
    counter = FlopCounterMode(display=False, custom_mapping={
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops})
    with counter:
        model(vision, text)
    return counter.get_total_flops()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='small size for a fast check')
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats per model')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards per model')
    args = parser.parse_args()
    size = SIZES['quick' if args.quick else 'full']
    torch.manual_seed(0)
    arch = {k: size[k] for k in ('embed_dims', 'num_heads', 'num_layers')}
    models = {name: MODELS.build(dict(type=name, **arch)).eval() for name in (SKIP, ) + OTHERS}
    vision, text = make_inputs(size)
    times = {name: [] for name in models}
    names = list(models)
    with torch.no_grad():
        flops = {name: count_flops(m, vision, text) for name, m in models.items()}
        for _ in range(args.warmup):
            for model in models.values():
                model(vision, text)
        for r in range(args.repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                start = time.perf_counter()
                models[name](vision, text)
                times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}

    print(f"fusion forward, torch.no_grad(), CPU threads={torch.get_num_threads()}: "
          f"batch {size['batch']}, {size['vision_tokens']} visual + {size['text_tokens']} text "
          f"tokens, hidden {size['embed_dims']}, {size['num_heads']} heads, "
          f"{size['num_layers']} layers; median of {args.repeats} interleaved repeats")
    print(f"{SKIP} stride S={models[SKIP].stride}: schedule "
          f"{' '.join(k[0].upper() for k in models[SKIP].schedule)} (A=asym, C=connected)")
    header = f"{'fusion':<26}{'median ms':>11}{'min ms':>9}{'GFLOP':>9}{'time / skip':>13}" \
             f"{'FLOP / skip':>13}"
    print(header)
    print('-' * len(header))
    for name in (SKIP, ) + OTHERS:
        print(f'{name:<26}{median[name] * 1e3:>11.1f}{min(times[name]) * 1e3:>9.1f}'
              f'{flops[name] / 1e9:>9.1f}{median[name] / median[SKIP]:>12.2f}x'
              f'{flops[name] / flops[SKIP]:>12.2f}x')
    ratio = median['ConnectedAttentionFusion'] / median[SKIP]
    verdict = 'MET' if ratio >= TARGET else 'NOT MET'
    print(f'target: skip-connected >= {TARGET:.0f}x faster than connected-attention '
          f'(mPLUG reports ~4x): {ratio:.2f}x -> {verdict}')


if __name__ == '__main__':
    main()
