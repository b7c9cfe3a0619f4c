"""DeepForest's tree crowns -> COCO detection:  python tools/convert_deepforest.py OUT_DIR

Reads the hand-labelled tree-crown boxes of the airborne RGB images that the ``deepforest`` package
ships in its ``data/`` folder (install it with ``pip install --no-deps deepforest``; only its data
files are read, the package is never imported). Each labelled image gets its most complete
annotation file (the Pascal VOC XML files; the CSVs ``image_path,xmin,ymin,xmax,ymax,label`` hold
the same or fewer boxes); unlabelled images are left out. Every label (Tree, Alive, Dead) is one
class, ``tree``; the original label stays in each annotation's ``attributes``.

The images are cut into a grid of non-overlapping tiles of at most ``--tile-size`` pixels (a 400 px
image into 2 x 2 tiles of 200 px); a box goes to the tile that holds its centre, clipped to it, and
is dropped when less than ``--min-visible`` of its area lies there. Every 4th tile of each image
(the 2nd, 6th, ...) is held out.
Layout under OUT_DIR::

    images/{train,val}/{image}_r{row}_c{col}.png
    annotations/train.json, annotations/val.json     COCO detection (category 1: tree)
    dataset_info.json                                counts, sources, an mmdet dataset config

The same arguments give byte-identical files.
"""
import argparse
import csv
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

from mplug_registry_plugins.datasets.packaged import (empty_coco, package_path, package_version,
                                                     tiles, write_coco)

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.tif', '.tiff')   # in order of preference for one stem


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='output directory (created; existing files are overwritten)')
    p.add_argument('--tile-size', type=int, default=256, help='largest tile side (default 256)')
    p.add_argument('--min-visible', type=float, default=0.5,
                   help='share of a box that must lie in a tile to keep it there (default 0.5)')
    args = p.parse_args(argv)
    if args.tile_size < 32:
        p.error(f'--tile-size must be at least 32, got {args.tile_size}')
    if not 0 < args.min_visible <= 1:
        p.error(f'--min-visible must be in (0, 1], got {args.min_visible}')
    return args


def data_dir():
    """The ``data/`` folder of the installed deepforest package, found without importing it."""
    return package_path('deepforest', 'data')


def read_csv_boxes(path):
    """``{image stem: [(xmin, ymin, xmax, ymax, label)]}`` of a DeepForest CSV; {} for others."""
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    if not rows or not {'image_path', 'xmin', 'ymin', 'xmax', 'ymax', 'label'} <= set(rows[0]):
        return {}
    out = {}
    for r in rows:
        box = tuple(float(r[k]) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        out.setdefault(os.path.splitext(r['image_path'])[0], []).append(box + (r['label'], ))
    return out


def read_voc_boxes(path):
    """``{image stem: [(xmin, ymin, xmax, ymax, label)]}`` of a Pascal VOC XML file."""
    root = ET.parse(path).getroot()
    boxes = []
    for obj in root.iter('object'):
        b = obj.find('bndbox')
        boxes.append(tuple(float(b.findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
                     + (obj.findtext('name'), ))
    return {os.path.splitext(root.findtext('filename'))[0]: boxes}


def labelled_images(folder):
    """``[(image file, annotation file, boxes)]``: each labelled image with its most complete
    annotation file (most boxes; an XML file on a tie), in name order."""
    sources = {}
    for path in sorted(glob.glob(os.path.join(folder, '*.csv')) +
                       glob.glob(os.path.join(folder, '*.xml'))):
        read = read_voc_boxes if path.endswith('.xml') else read_csv_boxes
        for stem, boxes in read(path).items():
            sources.setdefault(stem, []).append((len(boxes), path.endswith('.xml'), path, boxes))
    out = []
    for stem in sorted(sources):
        image = next((os.path.join(folder, stem + ext) for ext in IMAGE_EXTS
                      if os.path.isfile(os.path.join(folder, stem + ext))), None)
        if image is not None:
            _, _, ann, boxes = max(sources[stem], key=lambda s: s[:2])
            out.append((image, ann, boxes))
    return out


def tile_boxes(boxes, x0, y0, x1, y1, min_visible):
    """The boxes whose centre lies in the tile ``[x0, x1) x [y0, y1)`` and that have at least
    ``min_visible`` of their area inside it, clipped to it, in tile pixels ``[x, y, w, h]``."""
    out = []
    for bx0, by0, bx1, by1, label in boxes:
        if not (x0 <= (bx0 + bx1) / 2 < x1 and y0 <= (by0 + by1) / 2 < y1) or \
                bx1 <= bx0 or by1 <= by0:
            continue
        cx0, cy0, cx1, cy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
        if (cx1 - cx0) * (cy1 - cy0) >= min_visible * (bx1 - bx0) * (by1 - by0):
            out.append(([cx0 - x0, cy0 - y0, cx1 - cx0, cy1 - cy0], label))
    return out


def convert(folder, out_dir, tile_size, min_visible):
    """Write the dataset (module docstring); returns the info dict of ``dataset_info.json``."""
    from PIL import Image
    coco = empty_coco('tree', 'plant')
    sources, image_id, ann_id = [], 0, 0
    for image_path, ann_path, boxes in labelled_images(folder):
        with Image.open(image_path) as im:
            img = im.convert('RGB')
        stem = os.path.splitext(os.path.basename(image_path))[0]
        kept = 0
        for k, row, col, split, (x0, y0, x1, y1) in tiles(img.width, img.height, tile_size):
            name = f'{split}/{stem}_r{row}_c{col}.png'
            os.makedirs(os.path.join(out_dir, 'images', split), exist_ok=True)
            img.crop((x0, y0, x1, y1)).save(os.path.join(out_dir, 'images', name))
            image_id += 1
            coco[split]['images'].append(dict(id=image_id, file_name=name, width=x1 - x0,
                                              height=y1 - y0))
            for bbox, label in tile_boxes(boxes, x0, y0, x1, y1, min_visible):
                ann_id += 1
                kept += 1
                coco[split]['annotations'].append(dict(
                    id=ann_id, image_id=image_id, category_id=1, bbox=bbox,
                    area=bbox[2] * bbox[3], iscrowd=0, attributes=dict(label=label)))
        sources.append(dict(image=os.path.basename(image_path), width=img.width,
                            height=img.height, annotations=os.path.basename(ann_path),
                            boxes=len(boxes), kept=kept, tiles=k + 1))
    write_coco(out_dir, coco, 'DeepForest tree crowns')
    return dict(
        name='deepforest_trees', source=dict(package='deepforest', version=package_version('deepforest')),
        tile_size=tile_size, min_visible=min_visible, classes=['tree'], sources=sources,
        splits={s: dict(images=len(d['images']), annotations=len(d['annotations']))
                for s, d in coco.items()},
        files={s: dict(annotations=f'annotations/{s}.json', images=f'images/{s}/')
               for s in coco},
        loaders={s: {'mmdet.CocoDataset': dict(ann_file=f'annotations/{s}.json',
                                               data_prefix=dict(img='images/'),
                                               metainfo=dict(classes=('tree', )))}
                 for s in coco})


def main(argv=None):
    args = parse_args(argv)
    try:
        folder = data_dir()
    except FileNotFoundError as err:
        print(f'convert_deepforest: error: {err}', file=sys.stderr)
        return 2
    info = convert(folder, args.out_dir, args.tile_size, args.min_visible)
    with open(os.path.join(args.out_dir, 'dataset_info.json'), 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=1)
    boxes = sum(s['boxes'] for s in info['sources'])
    kept = sum(s['kept'] for s in info['sources'])
    print(f"wrote {args.out_dir}: {len(info['sources'])} labelled images, {boxes} boxes -> "
          + ', '.join(f"{s}: {c['images']} tiles, {c['annotations']} boxes"
                      for s, c in info['splits'].items())
          + f' ({boxes - kept} boxes cut by tile borders dropped)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
