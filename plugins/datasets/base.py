"""Shared base of the datasets: paths, media loading, bad-image policy, caption files.

A dataset reads an annotation file ``data_root/ann_file``; its media lie under the directories of
``data_prefix`` (MMEngine's convention): ``img_path`` for images, ``video_path`` for videos. Each
modality of a sample is optional (:class:`MultimodalDataset`): a sample with ``img_path`` gets its
image as ``img``, an ``H x W x 3`` ``uint8`` RGB array (PIL decodes, the pipeline's
:class:`PackMultimodalInputs` packs), with ``ori_shape`` and ``img_shape``; a sample with
``video_path`` keeps the path for a decode transform of the pipeline (nothing is decoded here); a
sample with neither is text only (:class:`~mplug_registry_plugins.datasets.text.TextDataset`).
Every dataset of :mod:`.image_text` is an :class:`ImageTextDataset`: each sample has an image.
Normalisation is the data preprocessor's job.

A missing image raises :class:`FileNotFoundError`, an unreadable one :class:`ValueError`, both naming
the file. With ``skip_bad_images=True`` bad images are skipped and counted instead
(:attr:`ImageTextDataset.num_skipped`, :attr:`ImageTextDataset.skipped_images`):

* ``test_mode=False``: lazily; a sample whose image fails is replaced by the next index that loads
  (the epoch keeps its length). The first bad image is logged, then one summary line per epoch's
  worth of samples served by this process when the count grew (each dataloader worker counts its own).
* ``test_mode=True``: every image is checked once when the annotations are loaded (exists, PIL
  identifies it, ``verify()``), so the evaluated set is well defined; one summary line is logged.
  An image that passes that check but fails to decode later still raises.
"""
import inspect
import json
import logging
import math
import os
import re

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mplug_registry.errors import MplugRegistryError, close_match

_BAD = object()   # prepare_data's marker for a skipped sample


def join_path(root, path):
    """``path`` under ``root`` unless it is absolute or ``root`` is empty (MMEngine's rule)."""
    return path if not root or os.path.isabs(path) else os.path.join(root, path)


#: the media directories a ``data_prefix`` may name, with what they hold
MEDIA_PREFIXES = {'img_path': 'image', 'video_path': 'video'}


def check_data_paths(ann_file='', data_root='', data_prefix=None, **extra_files):
    """Validate the paths of a dataset config without loading anything.

    ``ann_file`` (required) and every non-empty ``extra_files`` value (e.g. ``answer_file``) must be
    files, ``data_root`` and each media directory that ``data_prefix`` names (``img_path``,
    ``video_path``) directories; a text-only dataset names none.
    """
    if not isinstance(ann_file, str) or not ann_file:
        raise ValueError(f'ann_file must name the annotation file, got {ann_file!r}')
    if data_root and not os.path.isdir(data_root):
        raise FileNotFoundError(f"data_root: no directory '{data_root}'")
    for name, path in dict(ann_file=ann_file, **extra_files).items():
        if path and not os.path.isfile(join_path(data_root, path)):
            raise FileNotFoundError(f"{name}: no file '{join_path(data_root, path)}'")
    prefix = {} if data_prefix is None else data_prefix
    if not isinstance(prefix, dict) or not all(isinstance(prefix.get(key, ''), str)
                                               for key in MEDIA_PREFIXES):
        raise ValueError(f"data_prefix must be a dict like dict(img_path='images/'), got "
                         f'{data_prefix!r}')
    for key, media in MEDIA_PREFIXES.items():
        media_dir = join_path(data_root, prefix[key]) if key in prefix else ''
        if media_dir and not os.path.isdir(media_dir):
            raise FileNotFoundError(f"data_prefix.{key}: no {media} directory '{media_dir}'")


def load_rgb(path):
    """An image file as an ``H x W x 3`` ``uint8`` RGB array; errors name the file."""
    from PIL import Image
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file not found: '{path}'")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'), dtype=np.uint8)   # [H, W, 3]
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"cannot read image '{path}': {err}") from err


def image_problem(path):
    """Why ``path`` is not a readable image (cheap header check), or None when it looks fine."""
    from PIL import Image
    if not os.path.isfile(path):
        return 'missing'
    try:
        with Image.open(path) as im:
            im.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        return f'unreadable ({err})'
    return None


class BadRow(MplugRegistryError, ValueError):
    """A bad row or entry of an annotation file; the message names the file and the row, and the
    tools print it as one line (exit 2) instead of a traceback."""


def read_jsonl(path):
    """``(where, row)`` for each non-blank line of a JSON Lines file: ``where`` names the file and
    the 1-based line, ``row`` is the line's object; a line that is not one is a :class:`BadRow`."""
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"'{path}', line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise BadRow(f'{where}: not valid JSON ({err.msg}, column {err.colno})') from None
            if not isinstance(row, dict):
                raise BadRow(f'{where}: expected an object like {{"text": ...}}, got a '
                             f'{type(row).__name__}')
            yield where, row


def read_lines(path):
    """The lines of a UTF-8 text file without their line ends (``\n`` or ``\r\n``; a final
    newline ends the last line, it starts no new one), numbered as ``wc -l`` and editors do."""
    with open(path, encoding='utf-8', newline='') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    return [line[:-1] if line.endswith('\r') else line for line in lines]


def read_json(path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"'{path}' is not valid JSON: {err}") from err


def image_id_of(image, given=None):
    """An image's id: ``given`` when an int (or a string of digits), else the digits ending the
    file name (``COCO_val2014_000000184613.jpg`` -> 184613, ``coco_184613`` -> 184613), else the
    file name without extension."""
    if isinstance(given, (int, np.integer)) and not isinstance(given, bool):
        return int(given)
    if isinstance(given, str) and given.isdigit():
        return int(given)
    stem = os.path.splitext(os.path.basename(image))[0]
    match = re.search(r'(\d+)$', stem) or re.search(r'(\d+)$', str(given or ''))
    return int(match.group(1)) if match else stem


def read_caption_file(path, media_key='image'):
    """Images with their captions, in file order: ``[{image, image_id, captions: [str]}]``.
    ``media_key``: the entries' key of the media file in a list (``'video'`` for MSR-VTT's).

    Reads both standard layouts:

    * a Karpathy-split list as in ALBEF/BLIP (``coco_karpathy_*.json``, ``flickr30k_*.json``,
      pre-training lists): ``[{image, caption: str | [str], image_id?}]``; entries of one image are
      merged (train files hold one entry per caption);
    * an official COCO ``captions_*.json``: ``{images: [{id, file_name}], annotations:
      [{image_id, caption}]}``.
    """
    data = read_json(path)
    images = {}
    if isinstance(data, dict) and 'images' in data and 'annotations' in data:
        for img in data['images']:
            images[img['id']] = dict(image=img['file_name'], image_id=img['id'], captions=[])
        for ann in data['annotations']:
            if ann['image_id'] not in images:
                raise ValueError(f"'{path}': caption {ann.get('id')} names image_id "
                                 f"{ann['image_id']}, which is not in `images`")
            images[ann['image_id']]['captions'].append(ann['caption'])
        return list(images.values())
    if not isinstance(data, list):
        raise ValueError(f"'{path}': expected a list of {{image, caption}} or a COCO captions file "
                         '({images, annotations})')
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or media_key not in entry or 'caption' not in entry:
            raise ValueError(f"'{path}': entry {i} needs `{media_key}` and `caption`")
        caps = entry['caption'] if isinstance(entry['caption'], list) else [entry['caption']]
        name = entry[media_key]
        item = images.setdefault(name, dict(
            image=name, image_id=image_id_of(name, entry.get(f'{media_key}_id')), captions=[]))
        item['captions'].extend(caps)
    return list(images.values())


class MultimodalDataset(BaseDataset):
    """Base of the datasets (not registered): a sample's image, video and text are each optional.
    Subclasses implement :meth:`parse_annotations` returning data infos with ``img_path``
    (:meth:`image_path`), ``video_path`` (:meth:`video_path`) or neither; see the module docstring.

    Args:
        ann_file: annotation file, relative to ``data_root`` unless absolute.
        data_root: root of the annotation file and the media.
        data_prefix: the media directories relative to ``data_root``: ``img_path`` (images),
            ``video_path`` (videos); default :attr:`DEFAULT_PREFIX` (none: text only).
        pipeline: transforms.
        test_mode: evaluation layout (one sample per image where the dataset says so).
        skip_bad_images: skip and count missing/unreadable images instead of raising.
        fraction: keep this share of the samples, evenly spaced in file order (deterministic;
            e.g. 0.5 = every 2nd), to weigh a dataset in a multi-task mix. Default 1: all.
        instruction: a task instruction put on every sample as ``instruction`` (mPLUG-2 §3.2,
            e.g. "What does the image describe?"), for a multi-task model whose data preprocessor
            takes it as the text input (``text_field=('question', 'instruction', 'text')``).
        **kwargs: the rest of MMEngine's ``BaseDataset`` (``metainfo``, ``indices``, ``lazy_init``...).
    """
    #: ``data_prefix`` when the config gives none
    DEFAULT_PREFIX = {}
    #: the key of the media file in the annotation entries, and what it holds
    MEDIA_KEY = 'image'
    #: the data-info field of the media file's path
    MEDIA_FIELD = 'img_path'

    def __init__(self, ann_file='', data_root='', data_prefix=None, pipeline=(), test_mode=False,
                 skip_bad_images=False, fraction=1.0, instruction=None, **kwargs):
        self.check_args(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                        **self.checked_args())
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not 0 < fraction <= 1:
            raise ValueError(f'fraction must be a number in (0, 1], got {fraction!r}')
        self.fraction = float(fraction)
        if instruction is not None and (not isinstance(instruction, str) or not instruction.strip()):
            raise ValueError(f'instruction must be a non-empty string or None, got {instruction!r}')
        self.instruction = instruction
        self.skip_bad_images = bool(skip_bad_images)
        self.skipped_images = {}   # path -> reason
        self._reported, self._served = 0, 0
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(self.DEFAULT_PREFIX) if data_prefix is None
                         else data_prefix,
                         pipeline=list(pipeline), test_mode=test_mode, **kwargs)

    @classmethod
    def check_args(cls, ann_file='', data_root='', data_prefix=None, **others):
        """Validate argument names and paths without loading anything (used by config checks)."""
        cls.check_names(others)
        check_data_paths(ann_file, data_root, data_prefix)

    @classmethod
    def check_names(cls, names):
        """Every name is an argument of the class or of MMEngine's ``BaseDataset`` (close match
        otherwise): the constructors take ``**kwargs``, so the config check cannot see typos."""
        known = set()
        for klass in cls.__mro__:
            if '__init__' in vars(klass):
                known.update(p.name for p in inspect.signature(klass.__init__).parameters.values()
                             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
            if klass is BaseDataset:
                break
        for name in names:
            if name not in known and not name.startswith('_'):
                match = close_match(name, known - {'self'})
                raise ValueError(f"{cls.__name__} has no argument '{name}'" +
                                 (f" (did you mean '{match}'?)" if match else ''))

    def checked_args(self):
        """The subclass's own constructor arguments that its ``check_args`` validates."""
        return {}

    @property
    def img_prefix(self):
        return self.data_prefix.get('img_path', '')

    @property
    def num_skipped(self):
        """How many distinct bad images were skipped (in this process)."""
        return len(self.skipped_images)

    def data_file(self, path):
        """An extra annotation file of the config, resolved like ``ann_file``."""
        return join_path(self.data_root, path) if path else path

    def image_path(self, name):
        return join_path(self.img_prefix, name)

    def video_path(self, name):
        """A video file under ``data_prefix['video_path']`` (kept as a path, not decoded here)."""
        return join_path(self.data_prefix.get('video_path', ''), name)

    def media(self, name):
        """The data-info fields of a sample's media file ``name`` (an image here)."""
        return dict(img_path=self.image_path(name))

    def parse_annotations(self):
        raise NotImplementedError

    def load_data_list(self):
        infos = self.parse_annotations()
        if self.fraction < 1:   # samples 0, 1/f, 2/f, ... (every 2nd for 0.5)
            picks = (int(i / self.fraction) for i in range(math.ceil(len(infos) * self.fraction)))
            infos = [infos[i] for i in picks if i < len(infos)]
        return infos

    def filter_data(self):
        if not (self.test_mode and self.skip_bad_images):
            return self.data_list
        problems, field = {}, self.MEDIA_FIELD
        for info in self.data_list:
            path = info.get(field)
            if path is not None and path not in problems:
                problems[path] = self.media_problem(path)
        for path, problem in problems.items():
            if problem is not None:
                self.skipped_images[path] = problem
        if self.skipped_images:
            self._log_skipped('when loading the annotations')
        return [info for info in self.data_list if problems.get(info.get(field)) is None]

    def media_problem(self, path):
        """Why ``path`` is not a readable media file (a cheap check), or None."""
        return image_problem(path)

    def prepare_data(self, idx):
        info = self.get_data_info(idx)
        # an image is loaded here; a video stays a path (`video_path`) for a decode transform
        if info.get('img_path') is not None:
            try:
                info['img'] = load_rgb(info['img_path'])    # [H, W, 3] uint8
            except (FileNotFoundError, ValueError) as err:
                if not self.skip_bad_images or self.test_mode:
                    raise
                return self.skip(info['img_path'], str(err))
            info['ori_shape'] = info['img_shape'] = info['img'].shape[:2]
        if self.metainfo.get('task') is not None:
            info.setdefault('task', self.metainfo['task'])   # routes multi-task batches
        if self.instruction is not None:
            info['instruction'] = self.instruction
        return self.run_pipeline(info)

    def run_pipeline(self, info):
        """The pipeline on one data info (a video dataset checks its decoding here)."""
        return self.pipeline(info)

    def skip(self, path, reason):
        """Count a bad media file (the first one is logged) and return the skip marker."""
        if path not in self.skipped_images:
            self.skipped_images[path] = reason
            if self.num_skipped == 1:
                print_log(f'skipping bad {self.MEDIA_KEY}: {reason} (further bad '
                          f'{self.MEDIA_KEY}s are counted and summarised once per epoch)',
                          logger='current', level=logging.WARNING)
                self._reported = 1
        return _BAD

    def __getitem__(self, idx):
        if not self.skip_bad_images or self.test_mode:
            return super().__getitem__(idx)
        for offset in range(len(self)):
            data = super().__getitem__((idx + offset) % len(self))
            if data is not _BAD:
                break
        else:
            raise ValueError(f'every {self.MEDIA_KEY} of the dataset is bad (first: '
                             f'{next(iter(self.skipped_images.items()))})')
        self._served += 1
        if self._served >= len(self):   # an epoch's worth of samples
            self._served = 0
            if self.num_skipped > self._reported:
                self._log_skipped('so far')
        return data

    def _log_skipped(self, when):
        self._reported = self.num_skipped
        first = ', '.join(f"'{p}' ({r})" for p, r in list(self.skipped_images.items())[:3])
        more = f' and {self.num_skipped - 3} more' if self.num_skipped > 3 else ''
        print_log(f'{type(self).__name__}: skipped {self.num_skipped} bad {self.MEDIA_KEY}(s) '
                  f'{when}: '
                  f'{first}{more}', logger='current', level=logging.WARNING)


class ImageTextDataset(MultimodalDataset):
    """Base of the image-text datasets (not registered): every sample has an image (``img_path``
    from :meth:`parse_annotations`); ``data_prefix`` defaults to ``dict(img_path='')``, the images
    under ``data_root``. Arguments: :class:`MultimodalDataset`."""
    DEFAULT_PREFIX = dict(img_path='')
