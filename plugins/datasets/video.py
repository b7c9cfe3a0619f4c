"""Video datasets in their standard layouts: Kinetics-style classification lists, MSR-VTT captions
and retrieval, MSR-VTT-QA / MSVD-QA, and video-text pairs (mPLUG-2 Table 2, video rows).

Nothing is decoded here: a sample keeps its file as ``video_path`` (and as ``filename``, with
``start_index`` and ``modality``, the keys mmaction2's transforms read), and the pipeline decodes
and samples it, e.g. with mmaction2's transforms through cross-scope types::

    pipeline=[dict(type='mmaction.DecordInit'),
              dict(type='mmaction.UniformSample', clip_len=16, num_clips=1),
              dict(type='mmaction.DecordDecode'),
              dict(type='RandomResizedCrop', size=224, scale=(0.5, 1.0)),   # same for every frame
              dict(type='RandomFlip', prob=0.5),
              dict(type='PackMultimodalInputs')]

A video that cannot be decoded (missing, empty, unreadable, truncated, no frames) raises
:class:`BadVideo`, one line naming the file and what is wrong with it; with
``skip_bad_videos=True`` it is skipped and counted instead, as ``skip_bad_images`` does for images
(:class:`~.base.MultimodalDataset`; in test mode every video is checked once when the annotations
load). When the pipeline fails on a video that decodes fine, the error is the pipeline's and is
raised as it is.
"""
import os

from mplug_registry.errors import MplugRegistryError
from mplug_registry.registry import DATASETS
from mplug_registry.video import video_problem
from mplug_registry_plugins.datasets.base import (BadRow, MultimodalDataset, check_data_paths,
                                                  read_json, read_lines)
from mplug_registry_plugins.datasets.image_text import (CocoCaptionDataset, ImageTextPairDataset,
                                                        RetrievalDataset, VQADataset)


class BadVideo(MplugRegistryError, ValueError):
    """A video file that cannot be decoded; the message names the file (tools: one line, exit 2)."""


class VideoDataset(MultimodalDataset):
    """Base of the video datasets (not registered): each sample has a video file (``video_path``);
    ``data_prefix`` defaults to ``dict(video_path='')``, the videos under ``data_root``.

    Args:
        skip_bad_videos: skip and count videos that cannot be decoded instead of raising
            :class:`BadVideo` (module docstring).
        **kwargs: :class:`~.base.MultimodalDataset`.
    """
    DEFAULT_PREFIX = dict(video_path='')
    MEDIA_KEY = 'video'
    MEDIA_FIELD = 'video_path'

    def __init__(self, *args, skip_bad_videos=False, **kwargs):
        kwargs['skip_bad_images'] = kwargs.get('skip_bad_images', False) or bool(skip_bad_videos)
        super().__init__(*args, **kwargs)

    def media(self, name):
        path = self.video_path(name)
        return dict(video_path=path, filename=path, start_index=0, modality='RGB')

    def media_problem(self, path):
        return video_problem(path, decode=False)

    def run_pipeline(self, info):
        path = info.get('video_path')
        if path is None:
            return self.pipeline(info)
        problem, cause = 'missing', None
        if os.path.isfile(path):
            try:
                return self.pipeline(info)
            except Exception as err:   # the file's fault or the pipeline's: the probe decides
                problem, cause = video_problem(path), err
                if problem is None:
                    raise
        if self.skip_bad_images and not self.test_mode:
            return self.skip(path, problem)
        hint = '' if self.test_mode else ' (skip_bad_videos=True skips and counts such videos)'
        raise BadVideo(f"video '{path}': {problem}{hint}") from cause


def read_label_list(path, delimiter=None):
    """``[(video, label)]`` of a Kinetics / mmaction list (``<video> <label>`` per line; blank
    lines skipped; the label is the last field, so a file name may hold the delimiter)."""
    rows = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(delimiter, 1)
        if len(parts) != 2 or not parts[1].strip().lstrip('-').isdigit():
            raise BadRow(f"'{path}', line {number}: expected '<video> <label index>', got "
                         f'{line.strip()!r}')
        rows.append((parts[0].strip(), int(parts[1])))
    return rows


@DATASETS.register_module()
class VideoClassificationDataset(VideoDataset):
    """Video classification on a Kinetics-400/600/700 list in mmaction2's ``VideoDataset`` format
    (``<video> <label index>`` per line) or a json list of ``{video, label}``.

    Args:
        label_map: optional file with one class name per line (label = line index, as mmaction2's
            ``label_map_k400.txt``): the class names go to ``metainfo['classes']`` (printed by
            ``infer``, drawn on its picture) and labels are checked against their number.
        delimiter: of the list file (default: any whitespace).

    One sample per video with ``gt_label`` (an int) and the video fields.
    """
    METAINFO = dict(task='classification')

    def __init__(self, ann_file='', label_map=None, delimiter=None, **kwargs):
        self.label_map, self.delimiter = label_map, delimiter
        super().__init__(ann_file=ann_file, **kwargs)

    def checked_args(self):
        return dict(label_map=self.label_map)

    @classmethod
    def check_args(cls, ann_file='', label_map=None, data_root='', data_prefix=None, **others):
        cls.check_names(others)
        check_data_paths(ann_file, data_root, data_prefix, label_map=label_map)

    @staticmethod
    def read_label_map(path):
        return tuple(name.strip() for name in read_lines(path) if name.strip())

    @classmethod
    def config_metainfo(cls, dataset_cfg):
        """The class names of a dataset config's ``label_map`` without loading the dataset (for
        ``infer``); ``{}`` when it has none or the file is not there."""
        label_map = dataset_cfg.get('label_map')
        if not label_map:
            return {}
        from mplug_registry_plugins.datasets.base import join_path
        path = join_path(dataset_cfg.get('data_root', ''), label_map)
        return dict(classes=cls.read_label_map(path)) if os.path.isfile(path) else {}

    def parse_annotations(self):
        if os.path.splitext(self.ann_file)[1].lower() == '.json':
            data = read_json(self.ann_file)
            if not isinstance(data, list):
                raise BadRow(f"'{self.ann_file}': expected a json list of {{video, label}}")
            rows = []
            for i, entry in enumerate(data):
                if not isinstance(entry, dict) or 'video' not in entry or \
                        not isinstance(entry.get('label'), int):
                    raise BadRow(f"'{self.ann_file}': entry {i} needs `video` and an integer "
                                 '`label`')
                rows.append((entry['video'], entry['label']))
        else:
            rows = read_label_list(self.ann_file, self.delimiter)
        if self.label_map and 'classes' not in self._metainfo:
            self._metainfo['classes'] = self.read_label_map(self.data_file(self.label_map))
        classes = self.metainfo.get('classes')
        infos = []
        for video, label in rows:
            if label < 0 or (classes and label >= len(classes)):
                raise BadRow(f"'{self.ann_file}': video '{video}' has label {label}, outside "
                             f"[0, {len(classes) if classes else 'inf'})")
            infos.append(dict(self.media(video), gt_label=label))
        return infos


@DATASETS.register_module()
class VideoCaptionDataset(VideoDataset, CocoCaptionDataset):
    """Video captioning on MSR-VTT: a json list of ``{video, caption: str | [str]}`` (ALPRO's /
    mPLUG-2's ``msrvtt_*.json``); samples as :class:`CocoCaptionDataset` (``image_id`` is the
    video's number, ``video7010.mp4`` -> 7010)."""
    METAINFO = dict(task='caption')


@DATASETS.register_module()
class VideoRetrievalDataset(VideoDataset, RetrievalDataset):
    """Video-text retrieval on MSR-VTT (the 1k-A test split), DiDeMo or LSMDC as a json list of
    ``{video, caption: str | [str]}``; samples and the test-mode ``texts`` / ``txt2img`` /
    ``img2txt`` as :class:`RetrievalDataset` (the "image" is the video)."""
    METAINFO = dict(task='retrieval')


@DATASETS.register_module()
class VideoQADataset(VideoDataset, VQADataset):
    """Video QA on MSR-VTT-QA / MSVD-QA: a json list of ``{video, question, answer: str | [str],
    question_id?}`` (the layout of ALPRO's / mPLUG-2's ``*_qa_*.json``); samples as
    :class:`VQADataset`'s list format."""
    METAINFO = dict(task='vqa')


@DATASETS.register_module()
class VideoTextPairDataset(VideoDataset, ImageTextPairDataset):
    """Pre-training video-text pairs (WebVid-2M style): a json list of ``{video, caption}``."""
    METAINFO = dict(task='pretrain')
