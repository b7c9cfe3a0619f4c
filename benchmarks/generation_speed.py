"""Beam search with and without the key/value cache of ``SharedTextDecoder``, side by side.

Default size: mPLUG-2 Base captioning (decoder width 768, 12 layers, BERT vocabulary, a memory of
577 visual tokens = ViT-B/16 at 384 px, batch 8, beam 5, 25 new tokens). ``--quick``: a small
decoder for a fast check. Every hypothesis is forced to run the full 25 steps
(``min_length = max_length``), so both runs do the same number of steps. Prints both times, the
speed-up and whether the generated tokens are identical.

    python benchmarks/generation_speed.py [--quick] [--layers 6] [--device cuda] [--threads 1]
"""
import argparse
import time

import torch

from mplug_registry_plugins.decoders.shared_decoder import SharedTextDecoder


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='small decoder and memory')
    parser.add_argument('--dims', type=int, default=768)
    parser.add_argument('--layers', type=int, default=12)
    parser.add_argument('--heads', type=int, default=12)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--memory-tokens', type=int, default=577)
    parser.add_argument('--beams', type=int, default=5)
    parser.add_argument('--new-tokens', type=int, default=25)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads (1 is steadier on a busy machine)')
    args = parser.parse_args()
    if args.quick:
        args.dims, args.layers, args.heads, args.batch, args.memory_tokens = 256, 2, 4, 2, 197
    return args


def timed(fn, device):
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main():
    args = parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    decoder = SharedTextDecoder(arch='base', embed_dims=args.dims, num_layers=args.layers,
                                num_heads=args.heads).to(device).eval()
    memory = torch.randn(args.batch, args.memory_tokens, args.dims, device=device)
    settings = dict(num_beams=args.beams, max_length=args.new_tokens,
                    min_length=args.new_tokens)
    decoder.generate(memory[:1], num_beams=2, max_length=2)            # warm-up
    cached, t_cached = timed(lambda: decoder.generate(memory, **settings), device)
    plain, t_plain = timed(lambda: decoder.generate(memory, use_cache=False, **settings), device)
    print(f'decoder {args.dims}x{args.layers} layers, memory {args.batch}x{args.memory_tokens}, '
          f'beam {args.beams}, {args.new_tokens} new tokens, {device.type}, '
          f'{torch.get_num_threads()} threads')
    print(f'uncached: {t_plain:.2f} s   cached: {t_cached:.2f} s   '
          f'speed-up: {t_plain / t_cached:.1f}x   identical tokens: '
          f'{cached.sequences == plain.sequences}')


if __name__ == '__main__':
    main()
