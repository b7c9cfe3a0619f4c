"""``PackMultimodalInputs``: the last transform, results dict -> ``inputs`` + data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mplug_registry.registry import TRANSFORMS
from mplug_registry.structures import MultimodalDataSample

#: results keys copied onto the data sample (when present)
DEFAULT_FIELDS = ('gt_label', 'text', 'question', 'answers', 'answer_weights', 'gt_answers',
                  'question_id', 'gt_caption', 'gt_bboxes', 'gt_masks', 'image_id', 'text_id',
                  'task', 'instruction', 'answer_type', 'question_type',
                  # text tasks: sentence pairs, pre-tokenized windows (extractive QA), summaries
                  'text_b', 'input_ids', 'token_type_ids', 'offsets', 'context', 'example_id',
                  'start_position', 'end_position', 'is_impossible', 'gt_summary')
DEFAULT_META = ('sample_idx', 'img_path', 'video_path', 'ori_shape', 'img_shape', 'flip')


@TRANSFORMS.register_module()
class PackMultimodalInputs(BaseTransform):
    """Pack ``img`` (``H x W x 3``) or ``frames`` (``T x H x W x 3``; or ``imgs``, a decoder's list
    of frames) into ``inputs['images']``
    (``uint8`` ``[3, H, W]`` / ``[T, 3, H, W]``) and the annotation fields into a
    :class:`MultimodalDataSample` (``fields``: data fields, ``meta_keys``: metainfo). A sample
    with neither (text only) packs to empty ``inputs``."""

    def __init__(self, fields=DEFAULT_FIELDS, meta_keys=DEFAULT_META):
        self.fields, self.meta_keys = tuple(fields), tuple(meta_keys)

    def transform(self, results):
        inputs = {}
        if isinstance(results.get('imgs'), (list, tuple)):   # a decoder's list of frames
            results['frames'] = np.stack(results['imgs'])    # [T, H, W, 3]
        for key in ('img', 'frames'):
            if results.get(key) is not None:
                arr = np.ascontiguousarray(results[key])
                if not arr.flags.writeable:           # e.g. a decoded image's read-only buffer
                    arr = arr.copy()
                inputs['images'] = torch.from_numpy(arr).movedim(-1, -3)  # channels first
        sample = MultimodalDataSample(
            metainfo={k: results[k] for k in self.meta_keys if k in results})
        for key in self.fields:
            if results.get(key) is not None:
                value = results[key]
                if key == 'gt_label' or key == 'gt_bboxes':
                    value = torch.as_tensor(np.asarray(value))
                sample.set_field(value, key)
        return dict(inputs=inputs, data_samples=sample)
