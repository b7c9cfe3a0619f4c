"""StarDist's nuclei -> COCO instances + semantic masks:  python tools/convert_stardist.py OUT_DIR

Reads the real fluorescence microscopy image and its hand-made instance label mask that the
``stardist`` package ships (``data/images/img2d.tif``, ``mask2d.tif``: 512 x 512, about 125
nuclei, from the 2018 Data Science Bowl; install it with ``pip install --no-deps stardist``; only
its data files are read, the package is never imported). The image is normalised as StarDist does
(percentiles 1 and 99.8 to 0 and 255) into an 8-bit RGB picture and cut into a grid of
``--tile-size`` tiles; every 4th tile (the 2nd, 6th, ...) is held out. Layout under OUT_DIR::

    images/{train,val}/img2d_r{row}_c{col}.png
    annotations/train.json, annotations/val.json   COCO instances (category 1: nucleus), RLE masks
    semantic/{train,val}/img2d_r{row}_c{col}.png   one channel: 0 background, 1 nucleus
    dataset_info.json                              counts and mmdet / mmseg dataset configs

A nucleus cut by a tile border is an instance of each tile it shows in; a piece smaller than
``--min-area`` pixels is no instance (its pixels stay nucleus in the semantic mask). The same
arguments give byte-identical files.
"""
import argparse
import json
import os
import sys

import numpy as np

from mplug_registry_plugins.datasets.packaged import (empty_coco, package_path, package_version,
                                                     tiles, write_coco)

CLASSES = ('background', 'nucleus')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='output directory (created; existing files are overwritten)')
    p.add_argument('--tile-size', type=int, default=128, help='largest tile side (default 128)')
    p.add_argument('--min-area', type=int, default=16,
                   help='least pixels of a nucleus piece in a tile to be an instance (default 16)')
    args = p.parse_args(argv)
    if args.tile_size < 32:
        p.error(f'--tile-size must be at least 32, got {args.tile_size}')
    if args.min_area < 1:
        p.error(f'--min-area must be at least 1, got {args.min_area}')
    return args


def data_files():
    """``(image, mask)`` files of the installed stardist package, found without importing it."""
    return tuple(package_path('stardist', 'data', 'images', name)
                 for name in ('img2d.tif', 'mask2d.tif'))


def read_tif(path):
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f"cannot read '{path}': {err}") from err


def to_rgb(img, low=1.0, high=99.8):
    """Percentile normalisation (StarDist's defaults) to an ``[H, W, 3]`` uint8 picture."""
    lo, hi = np.percentile(img, [low, high])
    norm = np.clip((img.astype(np.float64) - lo) / max(hi - lo, 1e-9), 0, 1)
    gray = np.round(norm * 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def instances(labels, min_area):
    """``([(label, mask, bbox [x, y, w, h])], dropped)`` of a tile's instance label map."""
    out, dropped = [], 0
    for label in np.unique(labels):
        if label == 0:
            continue
        mask = labels == label
        if mask.sum() < min_area:
            dropped += 1
            continue
        ys, xs = np.nonzero(mask)
        out.append((int(label), mask, [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                                       int(ys.max() - ys.min() + 1)]))
    return out, dropped


def encode_rle(mask):
    """COCO RLE of a boolean ``[H, W]`` mask, with ``counts`` as a str (JSON-ready)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def convert(image_path, mask_path, out_dir, tile_size, min_area):
    """Write the dataset (module docstring); returns the info dict of ``dataset_info.json``."""
    from PIL import Image
    img, labels = read_tif(image_path), read_tif(mask_path)
    if img.shape != labels.shape or img.ndim != 2:
        raise ValueError(f"'{image_path}' {img.shape} and '{mask_path}' {labels.shape} must be "
                         'two 2-D arrays of one size')
    rgb = to_rgb(img)
    coco = empty_coco('nucleus', 'cell')
    ann_id, dropped = 0, 0
    for k, row, col, split, (x0, y0, x1, y1) in tiles(img.shape[1], img.shape[0], tile_size):
        window = (slice(y0, y1), slice(x0, x1))
        name = f'{split}/img2d_r{row}_c{col}.png'
        for folder in ('images', 'semantic'):
            os.makedirs(os.path.join(out_dir, folder, split), exist_ok=True)
        Image.fromarray(rgb[window]).save(os.path.join(out_dir, 'images', name))
        Image.fromarray((labels[window] > 0).astype(np.uint8)).save(
            os.path.join(out_dir, 'semantic', name))
        height, width = labels[window].shape
        coco[split]['images'].append(dict(id=k + 1, file_name=name, width=width, height=height))
        found, lost = instances(labels[window], min_area)
        dropped += lost
        for label, mask, bbox in found:
            ann_id += 1
            coco[split]['annotations'].append(dict(
                id=ann_id, image_id=k + 1, category_id=1, bbox=bbox, area=int(mask.sum()),
                iscrowd=0, segmentation=encode_rle(mask), attributes=dict(label=label)))
    write_coco(out_dir, coco, 'StarDist nuclei (2018 Data Science Bowl)')
    return dict(
        name='stardist_nuclei', source=dict(package='stardist', version=package_version('stardist'),
                                            files=['data/images/img2d.tif',
                                                   'data/images/mask2d.tif']),
        image_size=list(img.shape), nuclei=int(len(np.unique(labels)) - (labels == 0).any()),
        tile_size=tile_size, min_area=min_area, dropped_pieces=dropped, classes=list(CLASSES),
        splits={s: dict(images=len(d['images']), instances=len(d['annotations']))
                for s, d in coco.items()},
        files={s: dict(annotations=f'annotations/{s}.json', images=f'images/{s}/',
                       semantic_masks=f'semantic/{s}/') for s in coco},
        loaders={s: {'mmdet.CocoDataset': dict(ann_file=f'annotations/{s}.json',
                                               data_prefix=dict(img='images/'),
                                               metainfo=dict(classes=('nucleus', ))),
                     'mmseg.BaseSegDataset': dict(data_prefix=dict(img_path=f'images/{s}',
                                                                   seg_map_path=f'semantic/{s}'),
                                                  img_suffix='.png', seg_map_suffix='.png',
                                                  metainfo=dict(classes=CLASSES))}
                 for s in coco})


def main(argv=None):
    args = parse_args(argv)
    try:
        image_path, mask_path = data_files()
        info = convert(image_path, mask_path, args.out_dir, args.tile_size, args.min_area)
    except (FileNotFoundError, ValueError) as err:
        print(f'convert_stardist: error: {err}', file=sys.stderr)
        return 2
    with open(os.path.join(args.out_dir, 'dataset_info.json'), 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=1)
    print(f"wrote {args.out_dir}: {info['nuclei']} nuclei in a "
          f"{info['image_size'][1]}x{info['image_size'][0]} image -> "
          + ', '.join(f"{s}: {c['images']} tiles, {c['instances']} instances"
                      for s, c in info['splits'].items())
          + f" ({info['dropped_pieces']} pieces under {args.min_area} px dropped)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
