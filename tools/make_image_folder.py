"""Write an ImageNet-style image folder:  python tools/make_image_folder.py OUT_DIR [--seed 0]

One shape per image (circle, square or triangle, from the shapes generator), labelled by its
shape; colour, size and position are random. A horizontal flip, a crop that keeps most of the
image and colour changes (RandAugment) keep the label, so mPLUG-2's classification recipe applies.
Layout (torchvision ``ImageFolder`` / mmpretrain ``ImageNet``)::

    OUT_DIR/classes.txt                           one class name a line, label order
    OUT_DIR/{train,val}/<class>/<class>_00001.png
    OUT_DIR/meta/{train,val}.txt                  'circle/circle_00001.png 0' lines

Image ``i`` of a split depends only on ``(seed, split, i)``: the same arguments give the same
files, and a small set is a prefix of a larger one.
"""
import argparse
import os
import sys
import time

import numpy as np

SPLITS = ('train', 'val')
MIN_SIDE, MAX_SIDE = 0.3, 0.7   # the shape's side as a share of the image side


def render_sample(rng, image_size, shape):
    """``[S, S, 3]`` uint8: one ``shape`` of a random colour, size and place on the background."""
    from mplug_registry_plugins.datasets.shapes.generator import BACKGROUND, COLORS, shape_mask
    side = int(rng.integers(int(MIN_SIDE * image_size), int(MAX_SIDE * image_size) + 1))
    x, y = (int(v) for v in rng.integers(0, image_size - side + 1, size=2))
    img = np.empty((image_size, image_size, 3), np.uint8)
    img[:] = BACKGROUND
    img[y:y + side, x:x + side][shape_mask(shape, side)] = list(COLORS.values())[
        int(rng.integers(len(COLORS)))]
    return img


def make_image_folder(out_dir, num_train=1200, num_val=300, image_size=48, seed=0):
    """Write the folder tree and list files; return ``{split: {class: count}}``."""
    from PIL import Image

    from mplug_registry_plugins.datasets.shapes.generator import SHAPES
    if min(num_train, num_val) < len(SHAPES) or image_size < 16:
        raise ValueError(f'need at least {len(SHAPES)} images per split (one per class) and '
                         f'--image-size >= 16, got {num_train}/{num_val} and {image_size}')
    os.makedirs(os.path.join(out_dir, 'meta'), exist_ok=True)
    with open(os.path.join(out_dir, 'classes.txt'), 'w') as f:
        f.write(''.join(f'{s}\n' for s in SHAPES))
    counts = {}
    for split_id, (split, num) in enumerate(zip(SPLITS, (num_train, num_val))):
        lines, counts[split] = [], dict.fromkeys(SHAPES, 0)
        for i in range(num):
            label = i % len(SHAPES)   # balanced classes
            shape = SHAPES[label]
            rng = np.random.default_rng([seed, split_id, i])
            rel = f'{shape}/{shape}_{i + 1:05d}.png'
            path = os.path.join(out_dir, split, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(render_sample(rng, image_size, shape)).save(path)
            lines.append(f'{rel} {label}\n')
            counts[split][shape] += 1
        with open(os.path.join(out_dir, 'meta', f'{split}.txt'), 'w') as f:
            f.writelines(lines)
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='output directory (created; existing files are overwritten)')
    p.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    p.add_argument('--num-train', type=int, default=1200, help='training images (default 1200)')
    p.add_argument('--num-val', type=int, default=300, help='validation images (default 300)')
    p.add_argument('--image-size', type=int, default=48, help='image side in pixels (default 48)')
    args = p.parse_args(argv)
    start = time.perf_counter()
    try:
        counts = make_image_folder(args.out_dir, args.num_train, args.num_val, args.image_size,
                                   args.seed)
    except (ValueError, OSError) as err:
        print(f'make_image_folder: error: {err}', file=sys.stderr)
        return 2
    for split, per_class in counts.items():
        print(f"{split}: {sum(per_class.values())} images "
              f"({', '.join(f'{c} {n}' for c, n in per_class.items())})")
    print(f'wrote {args.out_dir} in {time.perf_counter() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
