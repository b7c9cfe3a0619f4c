"""Dense annotations of the "shapes" scenes (see :mod:`.generator`): instance and semantic masks.

Per split, from the exact masks the images are drawn with (:func:`.generator.shape_mask`):

* ``annotations/instances_{split}.json``: COCO instances, one category per shape (circle 1,
  square 2, triangle 3), each object with its tight ``bbox`` [x, y, w, h], ``area`` (its pixel
  count) and ``segmentation`` as COCO RLE (compressed ``counts``, as ``pycocotools.mask.encode``
  writes it);
* ``semantic/SHAPES_{split}_{image_id:012d}.png``: single-channel masks named like the images,
  0 background and the category id on every pixel of a shape (the shapes never overlap);
* ``annotations/semantic_{split}.txt``: the split's image names without extension, one a line,
  the ``ann_file`` of MMSegmentation's ``BaseSegDataset`` (both splits share ``images/``).
"""
import os

import numpy as np

from mplug_registry_plugins.datasets.shapes.formats import _INFO, _coco_images, dump_json


def object_mask(o, image_size):
    """Boolean ``[S, S]`` mask of one object, exactly the pixels :func:`render` paints."""
    from mplug_registry_plugins.datasets.shapes.generator import shape_mask
    x1, y1, x2, y2 = o['bbox']
    mask = np.zeros((image_size, image_size), bool)
    mask[y1:y2, x1:x2] = shape_mask(o['shape'], x2 - x1)
    return mask


def encode_rle(mask):
    """COCO RLE of a boolean ``[H, W]`` mask, with ``counts`` as a str (JSON-ready)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def write_dense(out_dir, split, records, image_size, info, shapes):
    """Write the instance file, the semantic masks and the split list of one split (module
    docstring); ``shapes`` are the category names. Returns the split's counts."""
    from PIL import Image
    cat_id = {s: i + 1 for i, s in enumerate(shapes)}
    sem_dir = os.path.join(out_dir, 'semantic')
    os.makedirs(sem_dir, exist_ok=True)
    anns = []
    for r in records:
        semantic = np.zeros((image_size, image_size), np.uint8)
        for k, o in enumerate(r['objects']):
            mask = object_mask(o, image_size)
            x1, y1, x2, y2 = o['bbox']
            # ids as in the RefCOCO instances.json
            anns.append(dict(id=r['image_id'] * 10 + k, image_id=r['image_id'],
                             category_id=cat_id[o['shape']], bbox=[x1, y1, x2 - x1, y2 - y1],
                             area=int(mask.sum()), iscrowd=0, segmentation=encode_rle(mask)))
            semantic[mask] = cat_id[o['shape']]
        Image.fromarray(semantic).save(os.path.join(sem_dir, r['file_name']))
    categories = [dict(id=i, name=s, supercategory='shape') for s, i in cat_id.items()]
    name = f'instances_{split}.json'
    dump_json(dict(info=dict(_INFO, split=split), licenses=[],
                   images=_coco_images(records, image_size), annotations=anns,
                   categories=categories), os.path.join(out_dir, 'annotations', name))
    list_name = f'semantic_{split}.txt'
    with open(os.path.join(out_dir, 'annotations', list_name), 'w', encoding='utf-8') as f:
        f.writelines(os.path.splitext(r['file_name'])[0] + '\n' for r in records)
    info['files'].setdefault(split, {}).update(
        instances=f'annotations/{name}', semantic_masks='semantic/',
        semantic_list=f'annotations/{list_name}')
    return dict(instances=len(anns), semantic_masks=len(records))


def dense_loader_configs(split, shapes):
    """MMDetection / MMSegmentation dataset configs of the dense files (``data_root`` = the
    output directory); our checked datasets take the same arguments."""
    return {
        'mmdet.CocoDataset': dict(ann_file=f'annotations/instances_{split}.json',
                                  data_prefix=dict(img='images/'),
                                  metainfo=dict(classes=tuple(shapes))),
        'mmseg.BaseSegDataset': dict(ann_file=f'annotations/semantic_{split}.txt',
                                     data_prefix=dict(img_path='images/',
                                                      seg_map_path='semantic/'),
                                     img_suffix='.png', seg_map_suffix='.png',
                                     metainfo=dict(classes=('background', ) + tuple(shapes))),
    }
