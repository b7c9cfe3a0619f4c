"""Generate the "shapes" image-text dataset:  python tools/make_shapes.py OUT_DIR [--seed 0]

Images of 1-4 coloured shapes with captions (COCO / Karpathy), VQA v2 questions and annotations,
RefCOCO-style referring expressions and Karpathy retrieval lists; the same arguments give
byte-identical files. ``OUT_DIR/dataset_info.json`` lists the files, the counts and dataset configs
that read them.
"""
import argparse
import json
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='output directory (created; existing files are overwritten)')
    p.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    p.add_argument('--num-train', type=int, default=2000, help='training images (default 2000)')
    p.add_argument('--num-val', type=int, default=300, help='validation images (default 300)')
    p.add_argument('--image-size', type=int, default=96, help='image side in pixels (default 96)')
    p.add_argument('--questions-per-image', type=int, default=5,
                   help='VQA questions per image (default 5)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mplug_registry_plugins.datasets.shapes.generator import make_shapes
    start = time.perf_counter()
    try:
        info = make_shapes(args.out_dir, seed=args.seed, num_train=args.num_train,
                           num_val=args.num_val, image_size=args.image_size,
                           questions_per_image=args.questions_per_image)
    except ValueError as err:
        print(f'make_shapes: error: {err}', file=sys.stderr)
        return 2
    print(json.dumps(info['splits']))
    print(f"wrote {args.out_dir} in {time.perf_counter() - start:.1f}s "
          f"({len(info['vocabulary']['words'])} words)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
