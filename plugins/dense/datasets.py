"""Checked dense datasets: MMDetection's ``CocoDataset`` and MMSegmentation's ``BaseSegDataset``
that validate their annotations while loading, for mmdet / mmseg configs
(``type='mplug_registry.CheckedCocoDataset'``) and ours (``type='CheckedCocoDataset'``).

Each problem raises :class:`BadAnnotation`, one line naming the file and the entry (the tools print
it and exit with status 2). With ``skip_bad_annotations=True`` / ``skip_bad_samples=True`` the bad
entries are dropped instead, counted (``num_skipped``, ``skipped``) and logged once with the count.

* :class:`CheckedCocoDataset`: a box beyond the image (more than ``box_tolerance`` pixels) or of
  non-positive size, an RLE mask whose ``size`` is not the image's, a polygon point beyond the
  image, an annotation naming an unknown image or category, an image without a positive width and
  height (dropped with its annotations); an ``annotations`` list that is empty or repeats an id
  always raises (a file of image infos for inference has no ``annotations`` key at all).
  Everything else is mmdet's own behaviour (``filter_cfg``, ``metainfo`` classes, ``iscrowd`` as
  ignore).
* :class:`CheckedSegDataset`: a missing image or segmentation map, a map whose size differs from
  its image (PIL header reads when loading) or that has more than one channel, labels outside the
  classes other than ``ignore_index``. Labels need the map decoded: in test mode every map is read
  when loading (the evaluated set is well defined); in training each map once, when its sample is
  first served (a skipped one is replaced by another sample, as MMEngine does for ``None``).
"""
import logging
import math
import os

import numpy as np
from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mplug_registry.errors import ConfigError, MplugRegistryError, close_match
from mplug_registry.registry import DATASETS


class BadAnnotation(MplugRegistryError, ValueError):
    """A bad entry of an annotation file or a bad segmentation map; the message names the file and
    the entry (tools: one line, exit 2)."""


def check_names(cls, names):
    """Every argument name is one of the class's or of its bases' up to MMEngine's ``BaseDataset``
    (the mmdet / mmseg constructors take ``**kwargs``, so a typo would pass unseen)."""
    import inspect
    known = set()
    for klass in cls.__mro__:
        if '__init__' in vars(klass):
            known.update(p.name for p in inspect.signature(klass.__init__).parameters.values()
                         if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != 'self')
        if klass is BaseDataset:
            break
    for name in names:
        if name not in known:
            match = close_match(name, known)
            raise ValueError(f"{cls.__name__} has no argument '{name}'" +
                             (f" (did you mean '{match}'?)" if match else ''))


def log_skipped(dataset, what, problems):
    """One warning line: how many bad entries ``dataset`` skipped, with the first few."""
    more = f'; and {len(problems) - 2} more' if len(problems) > 2 else ''
    first = '; '.join(problems[:2]) + more
    print_log(f'{type(dataset).__name__}: skipped {len(problems)} bad {what}: {first}',
              logger='current', level=logging.WARNING)


def raise_first(problems, hint):
    more = f' (and {len(problems) - 1} more problems)' if len(problems) > 1 else ''
    raise BadAnnotation(f'{problems[0]}{more} ({hint})')


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def annotation_problem(ann, img, cats, tol):
    """Why one COCO annotation is bad for its image entry ``img``, or None."""
    if ann.get('category_id') not in cats:
        return f"category_id {ann.get('category_id')!r} is not in `categories`"
    w_img, h_img = img['width'], img['height']
    box = ann.get('bbox')
    if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(map(_number, box))):
        return f'bbox {box!r} is not [x, y, w, h]'
    x, y, w, h = box
    if w <= 0 or h <= 0:
        return f'box {box} (x, y, w, h) has a non-positive size'
    if x < -tol or y < -tol or x + w > w_img + tol or y + h > h_img + tol:
        return f'box {box} (x, y, w, h) reaches beyond the {w_img}x{h_img} image'
    seg = ann.get('segmentation')
    if isinstance(seg, dict):
        size = seg.get('size')
        if list(size or []) != [h_img, w_img]:
            return (f'mask size {size!r} (RLE `size`, [height, width]) differs from the image '
                    f'size [{h_img}, {w_img}]')
    elif isinstance(seg, list):
        for poly in seg:
            if not (isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0
                    and all(map(_number, poly))):
                return 'a polygon of `segmentation` is not [x1, y1, x2, y2, x3, y3, ...]'
            xs, ys = poly[0::2], poly[1::2]
            if min(xs) < -tol or min(ys) < -tol or max(xs) > w_img + tol or max(ys) > h_img + tol:
                return f'a polygon of `segmentation` reaches beyond the {w_img}x{h_img} image'
    elif seg is not None:
        return f'segmentation must be an RLE dict or a list of polygons, got {type(seg).__name__}'
    return None


class _CountedSkips:
    """What both checked datasets share: arguments checked by name before building, and the
    number of dropped entries (``skipped``: one line each)."""

    @classmethod
    def check_args(cls, **args):
        check_names(cls, args)

    @property
    def num_skipped(self):
        return len(self.skipped)


@DATASETS.register_module()
class CheckedCocoDataset(_CountedSkips, CocoDataset):
    """MMDetection's ``CocoDataset`` that validates the annotation file (module docstring).

    Args:
        skip_bad_annotations: drop, count and log the bad annotations (and images) instead of
            raising :class:`BadAnnotation`.
        box_tolerance: how many pixels a box or polygon may reach beyond the image (default 1).
        *args, **kwargs: mmdet's ``CocoDataset``.
    """

    def __init__(self, *args, skip_bad_annotations=False, box_tolerance=1.0, **kwargs):
        self.skip_bad_annotations = bool(skip_bad_annotations)
        self.box_tolerance = float(box_tolerance)
        self.skipped = []   # one line per dropped image or annotation
        prefix = kwargs.get('data_prefix')
        if not (isinstance(prefix, dict) and 'img' in prefix):   # mmdet: a KeyError per image
            raise ConfigError('data_prefix', f"{type(self).__name__} reads the images under "
                              f"data_prefix['img'] (mmdet's key), got {prefix!r}",
                              "e.g. data_prefix=dict(img='images/')")
        super().__init__(*args, **kwargs)

    def COCOAPI(self, path):  # noqa: N802  mmdet loads its index through `self.COCOAPI(path)`
        coco = COCO(path)
        if self.check(coco.dataset):
            coco.createIndex()
            coco.img_ann_map, coco.cat_img_map = coco.imgToAnns, coco.catToImgs   # mmdet's aliases
        return coco

    def check(self, data):
        """Validate a loaded COCO dict; with skipping, drop the bad entries from it in place.
        Returns whether something was dropped."""
        where = f"'{self.ann_file}'"
        anns = data.get('annotations')
        if anns is not None and not anns:
            raise BadAnnotation(f'{where}: the `annotations` list is empty (a file of image infos '
                                'for inference has no `annotations` key)')
        seen = set()
        for ann in anns or []:
            if ann.get('id') in seen:
                raise BadAnnotation(f"{where}: annotation id {ann.get('id')} is used twice")
            seen.add(ann.get('id'))
        cats = {c['id'] for c in data.get('categories', [])}
        problems, images = [], {}
        for img in data.get('images', []):
            entry = f"{where}: image {img.get('id')} '{img.get('file_name')}'"
            if not all(_number(img.get(k)) and img.get(k) > 0 for k in ('width', 'height')):
                problems.append(f"{entry}: width {img.get('width')!r} and height "
                                f"{img.get('height')!r} must be positive numbers")
            else:
                images[img.get('id')] = img
        known = {img.get('id') for img in data.get('images', [])}
        kept = []
        for ann in anns or []:
            img = images.get(ann.get('image_id'))
            if img is None:
                if ann.get('image_id') not in known:
                    problems.append(f"{where}: annotation {ann.get('id')}: image_id "
                                    f"{ann.get('image_id')!r} is not in `images`")
                continue   # an annotation of a dropped image goes with it
            problem = annotation_problem(ann, img, cats, self.box_tolerance)
            if problem is None:
                kept.append(ann)
            else:
                problems.append(f"{where}: image {img['id']} '{img.get('file_name')}', "
                                f"annotation {ann.get('id')}: {problem}")
        if not problems:
            return False
        if not self.skip_bad_annotations:
            raise_first(problems, 'skip_bad_annotations=True drops and counts bad annotations')
        self.skipped += problems
        log_skipped(self, 'annotation(s) or image(s)', problems)
        data['images'] = list(images.values())
        data['annotations'] = kept
        return True


@DATASETS.register_module()
class CheckedSegDataset(_CountedSkips, BaseSegDataset):
    """MMSegmentation's ``BaseSegDataset`` that checks its images and segmentation maps (module
    docstring).

    Args:
        skip_bad_samples: drop, count and log the bad samples instead of raising
            :class:`BadAnnotation`.
        *args, **kwargs: mmseg's ``BaseSegDataset`` (``metainfo=dict(classes=...)``, ...).
    """

    def __init__(self, *args, skip_bad_samples=False, **kwargs):
        self.skip_bad_samples = bool(skip_bad_samples)
        self.skipped = []   # one line per dropped sample
        self._checked, self._bad = set(), set()   # sample indices whose labels were read
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        infos = super().load_data_list()
        if not infos:
            source = f"'{self.ann_file}' lists" if self.ann_file else \
                f"'{self.data_prefix.get('img_path')}' holds (img_suffix '{self.img_suffix}')"
            raise BadAnnotation(f'{source} no images')
        problems, kept = [], []
        for info in infos:
            problem = self.file_problem(info) or (self.test_mode and self.label_problem(info))
            if problem:
                problems.append(problem)
            else:
                kept.append(info)
        if problems:
            if not self.skip_bad_samples:
                raise_first(problems, 'skip_bad_samples=True drops and counts bad samples')
            self.skipped += problems
            log_skipped(self, 'sample(s) when loading', problems)
        return kept

    def file_problem(self, info):
        """Missing files, sizes and channels from the image headers; None when fine."""
        from PIL import Image
        img, seg = info['img_path'], info.get('seg_map_path')
        if not os.path.isfile(img):
            return f"image '{img}' is missing"
        if seg is None:
            return None   # no segmentation maps (inference)
        if not os.path.isfile(seg):
            return f"segmentation map '{seg}' of image '{img}' is missing"
        try:
            with Image.open(img) as a, Image.open(seg) as b:
                size, seg_size, bands = a.size, b.size, b.getbands()
        except OSError as err:
            return f"image '{img}' or its segmentation map '{seg}' cannot be read: {err}"
        if size != seg_size:
            return (f"segmentation map '{seg}' is {seg_size[0]}x{seg_size[1]} but its image "
                    f"'{img}' is {size[0]}x{size[1]}")
        if len(bands) != 1:
            return (f"segmentation map '{seg}' has {len(bands)} channels ({''.join(bands)}); "
                    'it must be one channel of class indices')
        return None

    def num_labels(self):
        """How many label values a map may hold (before ``label_map`` / ``reduce_zero_label``)."""
        classes = type(self).METAINFO.get('classes') if self.label_map \
            else self.metainfo.get('classes')
        return len(classes or ()) + bool(self.reduce_zero_label)

    def label_problem(self, info):
        """Labels of the map outside the classes (other than ``ignore_index``); None when fine."""
        from PIL import Image
        seg = info.get('seg_map_path')
        if seg is None or not self.metainfo.get('classes'):
            return None
        with Image.open(seg) as im:
            values = np.unique(np.asarray(im))
        n = self.num_labels()
        bad = [int(v) for v in values if (v < 0 or v >= n) and v != self.ignore_index]
        if not bad:
            return None
        shown = ', '.join(map(str, bad[:5])) + (', ...' if len(bad) > 5 else '')
        return (f"segmentation map '{seg}' of image '{info['img_path']}': labels {shown} are "
                f'outside the {n} classes 0-{n - 1} (ignore index {self.ignore_index})')

    def prepare_data(self, idx):
        if not self.test_mode and idx not in self._checked:
            self._checked.add(idx)
            problem = self.label_problem(self.get_data_info(idx))
            if problem and not self.skip_bad_samples:
                raise BadAnnotation(f'{problem} (skip_bad_samples=True drops and counts bad '
                                    'samples)')
            if problem:
                self._bad.add(idx)
                self.skipped.append(problem)
                if len(self.skipped) == 1:
                    log_skipped(self, 'sample(s) so far (further ones are counted in '
                                '`num_skipped`)', [problem])
        if idx in self._bad:
            return None   # MMEngine's BaseDataset serves another sample instead
        return super().prepare_data(idx)
