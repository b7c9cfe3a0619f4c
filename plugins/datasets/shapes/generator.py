"""The "shapes" scene dataset: a deterministic generator of small images with 1-4 coloured shapes,
written in the standard formats that the loaders of
:mod:`mplug_registry_plugins.datasets.image_text` read
(``tools/make_shapes.py`` is the command line).

Each image holds 1-4 non-overlapping shapes (circle, square, triangle; six colours; small or large)
with distinct ``(colour, shape)`` pairs, drawn without anti-aliasing on a gray background, so every
shape's pixels have exactly its colour. Layout under ``out_dir``::

    images/SHAPES_{split}_{image_id:012d}.png
    annotations/captions_{split}.json                  official COCO captions
    annotations/coco_karpathy_{split}.json             ALBEF/BLIP Karpathy list
    annotations/v2_OpenEnded_shapes_{split}_questions.json, v2_shapes_{split}_annotations.json
    annotations/retrieval_{split}.json                 ALBEF Flickr30K-style retrieval list
    annotations/answer_list.json                       ALBEF's VQA answer list (train answers)
    annotations/refs(unc).p, annotations/instances.json  RefCOCO layout (both splits)
    annotations/scenes_{split}.json                    CLEVR-style scene graphs (the ground truth)
    annotations/instances_{split}.json                 COCO instances with exact RLE masks
    semantic/SHAPES_{split}_{image_id:012d}.png        semantic masks (:mod:`.dense`)
    annotations/semantic_{split}.txt                   their split lists (MMSegmentation)
    dataset_info.json                                  counts, seed, vocabulary, loader configs

Image ``i`` of a split depends only on ``(seed, split, i)``, so a small set is a prefix of a large
one generated with the same seed; the same arguments give byte-identical files.
"""
import functools
import os

import numpy as np

from mplug_registry_plugins.datasets.shapes import language as lang
from mplug_registry_plugins.datasets.shapes.dense import dense_loader_configs, write_dense
from mplug_registry_plugins.datasets.shapes.formats import dump_json, write_grounding, write_split

COLORS = {'red': (220, 40, 40), 'green': (40, 170, 60), 'blue': (50, 90, 230),
          'yellow': (240, 210, 40), 'purple': (150, 60, 190), 'orange': (245, 135, 30)}
SHAPES = ('circle', 'square', 'triangle')
SIZES = {'small': 0.18, 'large': 0.32}   # side as a fraction of the image side
BACKGROUND = (128, 128, 128)
SPLITS = ('train', 'val')
MAX_OBJECTS = 4
GAP = 2            # free pixels between two shapes' boxes
MIN_DX = 0.06      # least distance of two centres in x, as a fraction of the image side
ID_OFFSET = {'train': 0, 'val': 1_000_000}   # image ids: split offset + index + 1
VERSION = '1.0'


@functools.lru_cache(maxsize=None)
def shape_mask(shape, side):
    """Boolean ``[side, side]`` mask of a shape touching all four sides of its square."""
    from PIL import Image, ImageDraw
    im = Image.new('L', (side, side), 0)
    draw = ImageDraw.Draw(im)
    if shape == 'circle':
        draw.ellipse((0, 0, side - 1, side - 1), fill=255)
    elif shape == 'square':
        draw.rectangle((0, 0, side - 1, side - 1), fill=255)
    else:
        draw.polygon([(0, side - 1), (side - 1, side - 1), ((side - 1) / 2, 0)], fill=255)
    return np.asarray(im) > 0


def side_of(size, image_size):
    return max(4, int(round(SIZES[size] * image_size)))


def sample_scene(rng, image_size, max_tries=200):
    """Objects ``{shape, color, size, bbox: [x1, y1, x2, y2], center: [cx, cy]}`` (pixels)."""
    n = int(rng.integers(1, MAX_OBJECTS + 1))
    pairs = [(c, s) for c in COLORS for s in SHAPES]
    objects = []
    for k in rng.choice(len(pairs), n, replace=False):
        color, shape = pairs[int(k)]
        size = 'small' if rng.random() < 0.5 else 'large'
        side = side_of(size, image_size)
        for _ in range(max_tries):
            x, y = (int(v) for v in rng.integers(1, image_size - side, size=2))
            box = [x, y, x + side, y + side]
            if all(_apart(box, o['bbox'], image_size) for o in objects):
                objects.append(dict(shape=shape, color=color, size=size, bbox=box,
                                    center=[x + side / 2, y + side / 2]))
                break
    return objects   # a shape that found no room is left out (rare: at most 4 in the image)


def _apart(a, b, image_size):
    separate = (a[2] + GAP <= b[0] or b[2] + GAP <= a[0] or
                a[3] + GAP <= b[1] or b[3] + GAP <= a[1])
    return separate and abs((a[0] + a[2]) - (b[0] + b[2])) / 2 >= MIN_DX * image_size


def render(objects, image_size):
    """``[S, S, 3]`` uint8 image; also sets each object's ``area`` (its pixel count)."""
    img = np.empty((image_size, image_size, 3), np.uint8)
    img[:] = BACKGROUND
    for o in objects:
        x1, y1, x2, y2 = o['bbox']
        mask = shape_mask(o['shape'], x2 - x1)
        img[y1:y2, x1:x2][mask] = COLORS[o['color']]
        o['area'] = int(mask.sum())
    return img


def scene_record(split, i, seed, image_size, questions_per_image=5):
    """Image ``i`` of a split, without its pixels: id, file name, objects and texts."""
    rng = np.random.default_rng([seed, SPLITS.index(split), i])
    objects = sample_scene(rng, image_size)
    image_id = ID_OFFSET[split] + i + 1
    return dict(image_id=image_id, file_name=f'SHAPES_{split}_{image_id:012d}.png',
                objects=objects, captions=lang.captions(objects),
                questions=lang.questions(objects, rng, questions_per_image),
                expressions=[lang.expressions(objects, o, rng) for o in objects])


def record_texts(record):
    """Every text of a record: captions, questions, all annotators' answers, expressions."""
    return (record['captions'] + [q['question'] for q in record['questions']]
            + [a for q in record['questions'] for a, _ in q['answers']]
            + [s for e in record['expressions'] for s in e])


def make_split(out_dir, split, num_images, image_size, seed, questions_per_image=5):
    """Generate and write the images of one split; returns the per-image records."""
    from PIL import Image
    records = []
    for i in range(num_images):
        record = scene_record(split, i, seed, image_size, questions_per_image)
        Image.fromarray(render(record['objects'], image_size)).save(
            os.path.join(out_dir, 'images', record['file_name']))
        records.append(record)
    return records


def make_shapes(out_dir, seed=0, num_train=2000, num_val=300, image_size=96,
                questions_per_image=5):
    """Write the whole dataset under ``out_dir`` (see the module docstring); returns the info dict
    that is also written to ``dataset_info.json``."""
    if image_size < 32:
        raise ValueError(f'image_size must be at least 32, got {image_size}')
    for key, value in dict(num_train=num_train, num_val=num_val).items():
        if not isinstance(value, int) or value < 0:
            raise ValueError(f'{key} must be a non-negative integer, got {value!r}')
    ann_dir = os.path.join(out_dir, 'annotations')
    os.makedirs(os.path.join(out_dir, 'images'), exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    info = dict(name='shapes', version=VERSION, seed=seed, image_size=image_size,
                description='Generated scenes of 1-4 coloured shapes with captions, VQA, '
                            'referring expressions and retrieval annotations in standard formats',
                splits={}, files={}, vocabulary={})
    texts, per_split = [], {}
    for split, num in (('train', num_train), ('val', num_val)):
        records = make_split(out_dir, split, num, image_size, seed, questions_per_image)
        per_split[split] = records
        info['splits'][split] = write_split(ann_dir, split, records, image_size, info)
        info['splits'][split].update(write_dense(out_dir, split, records, image_size, info, SHAPES))
        for r in records:
            texts += record_texts(r)
    write_grounding(ann_dir, per_split, image_size, info, SHAPES)
    info['vocabulary'] = dict(colors={k: list(v) for k, v in COLORS.items()}, shapes=list(SHAPES),
                              sizes={k: side_of(k, image_size) for k in SIZES},
                              background=list(BACKGROUND), words=lang.vocabulary(texts))
    info['loaders'] = {split: loader_configs(split) for split in SPLITS}
    dump_json(info, os.path.join(out_dir, 'dataset_info.json'))
    return info


def loader_configs(split='val'):
    """Dataset configs that read this layout (``data_root`` = the output directory)."""
    img = dict(img_path='images/')
    ann = 'annotations/'
    return dict(
        CocoCaptionDataset=dict(ann_file=f'{ann}coco_karpathy_{split}.json',
                                data_prefix=dict(img_path='')),
        RetrievalDataset=dict(ann_file=f'{ann}retrieval_{split}.json',
                              data_prefix=dict(img_path='')),
        ImageTextPairDataset=dict(ann_file=f'{ann}captions_{split}.json', data_prefix=img),
        VQADataset=dict(ann_file=f'{ann}v2_OpenEnded_shapes_{split}_questions.json',
                        answer_file=f'{ann}v2_shapes_{split}_annotations.json', data_prefix=img,
                        img_name_template='SHAPES_{data_subtype}_{image_id:012d}.png'),
        RefCOCODataset=dict(ann_file=f'{ann}refs(unc).p', instances_file=f'{ann}instances.json',
                            split=split, data_prefix=img),
        **dense_loader_configs(split, SHAPES))

