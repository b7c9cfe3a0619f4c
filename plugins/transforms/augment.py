"""Random augmentations for image-text samples: ``RandomResizedCrop`` and ``RandomFlip``.

The fine-tuning augmentation of mPLUG-2 (appendix B): "ResizedCrop with a minimum ratio of 0.5 and
HorizontalFlip with 0.5 probability", images resized to 336/576/384/336 for retrieval, VQA,
captioning and grounding; the defaults follow it (``scale=(0.5, 1.0)``, ``prob=0.5``).

On a video clip (``imgs``, the frames a decoder wrote) both do the same to every frame: one crop and
one flip per clip, as mPLUG-2 fine-tunes on videos. Both keep ``gt_bboxes`` (``[N, 4]`` ``xyxy``, continuous pixel coordinates: pixel column ``i`` spans
``[i, i + 1)``) consistent with the image, and ``RandomFlip`` keeps the text consistent too by
swapping the words *left* and *right*. Resizing reuses :class:`ImageResize`.

Randomness: with ``seed`` each transform draws from its own ``numpy`` generator
(``default_rng(seed)`` in the main process, ``default_rng([seed, worker_id + 1])`` in a dataloader
worker, so workers do not repeat each other); a new worker process starts its stream again, so
with non-persistent workers every epoch repeats the same draws: give ``seed`` for tests and
debugging. Without it they draw from the global ``numpy.random`` state that MMEngine seeds.
"""
import math
import re

import numpy as np
from mmcv.transforms import BaseTransform

from mplug_registry.checks import check_positive
from mplug_registry.registry import TRANSFORMS
from mplug_registry_plugins.transforms.image import ImageResize, first_image, map_images

#: text fields whose left/right words a horizontal flip swaps
TEXT_FIELDS = ('text', 'question', 'gt_caption', 'answers', 'gt_answers')
#: word pairs swapped by a horizontal flip (whole words, case kept)
LEFT_RIGHT = (('left', 'right'), ('leftmost', 'rightmost'))


class _Seeded:
    """``self.rng``: the transform's generator when seeded, else ``numpy.random``."""
    seed = None

    @property
    def rng(self):
        if self.seed is None:
            return np.random
        import torch.utils.data
        worker = torch.utils.data.get_worker_info()
        key = 0 if worker is None else worker.id + 1
        gens = self.__dict__.setdefault('_generators', {})
        if key not in gens:
            gens[key] = np.random.default_rng(self.seed if key == 0 else [self.seed, key])
        return gens[key]


def swap_words(text, pairs=LEFT_RIGHT):
    """Swap each pair's words both ways at once, whole words only, keeping their case:
    ``'Left of the right, bright'`` -> ``'Right of the left, bright'``. Lists map element-wise."""
    if isinstance(text, (list, tuple)):
        return type(text)(swap_words(t, pairs) for t in text)
    if not isinstance(text, str):
        return text
    mapping = {}
    for a, b in pairs:
        mapping[a.lower()], mapping[b.lower()] = b.lower(), a.lower()
    words = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r'\b(' + '|'.join(map(re.escape, words)) + r')\b', re.IGNORECASE)

    def repl(match):
        word, new = match.group(0), mapping[match.group(0).lower()]
        if word.isupper() and len(word) > 1:
            return new.upper()
        return new[0].upper() + new[1:] if word[0].isupper() else new

    return pattern.sub(repl, text)


@TRANSFORMS.register_module()
class RandomFlip(_Seeded, BaseTransform):
    """Horizontal flip with probability ``prob``: flips ``img``, maps ``gt_bboxes``
    ``[x1, y1, x2, y2]`` to ``[W - x2, y1, W - x1, y2]`` and swaps left/right words
    (:func:`swap_words` with ``word_pairs``) in ``text_fields``, so "the circle left of the square"
    stays true. ``flip_label_map`` does the same for class labels (``{label: its mirror}``, e.g. a
    "moves left" class to "moves right": mmaction2's ``Flip`` argument of that name; give both
    directions). Sets ``flip`` and ``flip_direction``."""

    def __init__(self, prob=0.5, direction='horizontal', text_fields=TEXT_FIELDS,
                 word_pairs=LEFT_RIGHT, flip_label_map=None, seed=None):
        self.check_args(prob, direction, flip_label_map)
        self.prob, self.direction, self.seed = prob, direction, seed
        self.text_fields, self.word_pairs = tuple(text_fields), tuple(map(tuple, word_pairs))
        self.flip_label_map = dict(flip_label_map or {})

    @staticmethod
    def check_args(prob=0.5, direction='horizontal', flip_label_map=None, **_):
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
            raise ValueError(f'prob must be a number in [0, 1], got {prob!r}')
        if flip_label_map is not None and not (
                isinstance(flip_label_map, dict) and
                all(isinstance(k, int) and isinstance(v, int) for k, v in flip_label_map.items())):
            raise ValueError(f'flip_label_map must be a dict of int labels {{label: mirrored '
                             f'label}}, got {flip_label_map!r}')
        if direction != 'horizontal':
            raise ValueError(f"direction must be 'horizontal' (the only one that keeps text "
                             f'consistent by swapping left/right), got {direction!r}')

    def transform(self, results):
        flip = self.prob > 0 and self.rng.random() < self.prob
        results['flip'], results['flip_direction'] = bool(flip), self.direction if flip else None
        if not flip:
            return results
        width = first_image(results).shape[1]
        map_images(results, lambda img: np.ascontiguousarray(img[:, ::-1]))   # [H, W, 3]
        label = results.get('gt_label')
        if self.flip_label_map and label is not None and int(label) in self.flip_label_map:
            results['gt_label'] = self.flip_label_map[int(label)]
        if results.get('gt_bboxes') is not None:
            boxes = np.asarray(results['gt_bboxes'], np.float32).copy()  # [N, 4]
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
            results['gt_bboxes'] = boxes
        for key in self.text_fields:
            if results.get(key) is not None:
                results[key] = swap_words(results[key], self.word_pairs)
        return results


@TRANSFORMS.register_module()
class RandomResizedCrop(_Seeded, BaseTransform):
    """Crop a random region of ``scale`` of the area and ``ratio`` aspect (drawn log-uniformly, as
    torchvision's), then resize it to ``size`` with :class:`ImageResize`.

    ``gt_bboxes`` follow the crop. With ``contain_boxes=True`` (grounding: the referred object must
    stay in view) only crops that contain every box are accepted; otherwise boxes are clipped to the
    crop (a box outside it becomes empty). After ``attempts`` failed draws the whole image is used.
    """

    def __init__(self, size, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3), interpolation='bicubic',
                 contain_boxes=True, attempts=10, seed=None):
        self.check_args(size, scale, ratio, interpolation, attempts)
        self.resize = ImageResize(size, interpolation)
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.contain_boxes, self.attempts, self.seed = contain_boxes, attempts, seed

    @staticmethod
    def check_args(size=None, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3), interpolation='bicubic',
                   attempts=10, **_):
        ImageResize.check_args(size, interpolation)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f'scale must be (min, max) with 0 < min <= max <= 1, got {scale!r}')
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'ratio must be (min, max) with 0 < min <= max, got {ratio!r}')
        check_positive('attempts', attempts)

    def _randint(self, lo, hi):
        """Uniform integer in ``[lo, hi]`` (works with both numpy random APIs)."""
        return min(hi, lo + int(self.rng.random() * (hi - lo + 1)))

    def crop_region(self, height, width, boxes=None):
        """``(x0, y0, w, h)`` of the crop."""
        need = None
        if self.contain_boxes and boxes is not None and len(boxes):
            need = (math.floor(boxes[:, 0].min()), math.floor(boxes[:, 1].min()),
                    math.ceil(boxes[:, 2].max()), math.ceil(boxes[:, 3].max()))
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(self.attempts):
            area = height * width * self.rng.uniform(*self.scale)
            aspect = math.exp(self.rng.uniform(*log_ratio))
            w = int(round(math.sqrt(area * aspect)))
            h = int(round(math.sqrt(area / aspect)))
            if not (0 < w <= width and 0 < h <= height):
                continue
            x_lo, x_hi, y_lo, y_hi = 0, width - w, 0, height - h
            if need is not None:
                x_lo, x_hi = max(x_lo, need[2] - w), min(x_hi, need[0])
                y_lo, y_hi = max(y_lo, need[3] - h), min(y_hi, need[1])
                if x_lo > x_hi or y_lo > y_hi:
                    continue
            return self._randint(x_lo, x_hi), self._randint(y_lo, y_hi), w, h
        return 0, 0, width, height

    def transform(self, results):
        height, width = first_image(results).shape[:2]
        boxes = results.get('gt_bboxes')
        boxes = None if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4)  # [N, 4]
        x0, y0, w, h = self.crop_region(height, width, boxes)
        map_images(results, lambda img: np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w]))
        if boxes is not None:
            boxes = boxes - np.array([x0, y0, x0, y0], np.float32)
            results['gt_bboxes'] = np.clip(boxes, 0, np.array([w, h, w, h], np.float32))
        results['crop_bbox'] = (x0, y0, x0 + w, y0 + h)
        return self.resize.transform(results)
