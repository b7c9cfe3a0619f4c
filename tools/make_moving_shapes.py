"""Generate the moving-shapes video dataset:  python tools/make_moving_shapes.py [OUT_DIR]

Clips of coloured shapes that move left / right / up / down, appear, disappear or change colour,
written as MP4 files with Kinetics-style labels, MSR-VTT-style captions, video QA and retrieval
lists (``mplug_registry_plugins.datasets.shapes.motion``). Direction and appearance need the order
of the frames. Existing data with the same settings is kept unless ``--force``.
"""
import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', nargs='?', default='data/moving_shapes',
                   help='output directory (default data/moving_shapes)')
    p.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    p.add_argument('--num-train', type=int, default=800, help='training clips (default 800)')
    p.add_argument('--num-val', type=int, default=200, help='validation clips (default 200)')
    p.add_argument('--num-frames', type=int, default=16, help='frames per clip (default 16)')
    p.add_argument('--size', type=int, default=64, help='frame side in pixels (default 64)')
    p.add_argument('--force', action='store_true', help='regenerate existing data')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mplug_registry_plugins.datasets.shapes.motion import make_moving_shapes
    settings = dict(seed=args.seed, num_frames=args.num_frames, size=args.size)
    info_path = os.path.join(args.out_dir, 'dataset_info.json')
    if not args.force and os.path.isfile(info_path):
        with open(info_path, encoding='utf-8') as f:
            old = json.load(f)
        if {k: old.get(k) for k in settings} == settings and \
                [old['splits'][s]['clips'] for s in ('train', 'val')] == [args.num_train,
                                                                        args.num_val]:
            print(f'{args.out_dir}: already there with these settings (--force regenerates it)')
            return 0
    start = time.perf_counter()

    def progress(split, done, total):
        if done == total or done % 200 == 0:
            print(f'{split}: {done}/{total} clips', flush=True)
    try:
        info = make_moving_shapes(args.out_dir, num_train=args.num_train, num_val=args.num_val,
                                  progress=progress, **settings)
    except ValueError as err:
        print(f'make_moving_shapes: error: {err}', file=sys.stderr)
        return 2
    print(json.dumps(info['splits']))
    print(f'wrote {args.out_dir} in {time.perf_counter() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
