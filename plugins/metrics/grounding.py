"""``GroundingAccuracy``: visual grounding (referring expression) accuracy, as in mPLUG-2 Table 7.

A prediction is correct when IoU(predicted box, ground-truth box) >= 0.5 (accuracy@0.5, the
RefCOCO/+/g protocol, also mPLUG Table 4); the metric also reports the mean IoU.
Boxes are xyxy in one pixel frame, continuous coordinates (area = (x2 - x1) * (y2 - y1), no +1).
"""
import torch
from mmengine.evaluator import BaseMetric

from mplug_registry.registry import METRICS
from mplug_registry_plugins.metrics._fields import sample_field


def paired_box_iou(boxes1, boxes2):
    """IoU of ``boxes1[i]`` with ``boxes2[i]``: both ``[N, 4]`` xyxy -> ``[N]``; empty union: 0."""
    lt = torch.maximum(boxes1[:, :2], boxes2[:, :2])  # [N, 2]
    rb = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])  # [N, 2]
    inter = (rb - lt).clamp(min=0).prod(dim=1)  # [N]
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).clamp(min=0).prod(dim=1)  # [N]
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).clamp(min=0).prod(dim=1)  # [N]
    union = area1 + area2 - inter  # [N]
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny),
                       torch.zeros_like(union))


def grounding_scores(ious, iou_thr=0.5):
    """``{'accuracy': share of ious >= iou_thr, 'mean_iou': mean}``."""
    return {'accuracy': (ious >= iou_thr).double().mean().item(), 'mean_iou': ious.mean().item()}


def _one_box(value, key):
    box = torch.as_tensor(value).cpu().double()
    if box.numel() != 4:
        raise ValueError(f"GroundingAccuracy expects one box per sample in '{key}' ([1, 4] xyxy), "
                         f'got shape {list(box.shape)}')
    return box.reshape(4)


@METRICS.register_module()
class GroundingAccuracy(BaseMetric):
    """Accuracy at IoU >= ``iou_thr`` and mean IoU (keys ``grounding/accuracy``,
    ``grounding/mean_iou``), both in [0, 1].

    Reads ``pred_bboxes`` (from the grounding head) and ``gt_bboxes`` (from the dataset), each
    ``[1, 4]`` xyxy in the same pixel frame.
    """
    default_prefix = 'grounding'

    def __init__(self, iou_thr=0.5, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.check_args(iou_thr)
        self.iou_thr = float(iou_thr)

    @staticmethod
    def check_args(iou_thr=0.5, **_):
        number = isinstance(iou_thr, (int, float)) and not isinstance(iou_thr, bool)
        if not number or not 0 < iou_thr <= 1:
            raise ValueError(f'iou_thr must be a number in (0, 1], got {iou_thr!r}')

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            pred = sample_field(sample, 'pred_bboxes', 'GroundingAccuracy',
                                'written by the grounding head')
            gt = sample_field(sample, 'gt_bboxes', 'GroundingAccuracy', 'from the dataset')
            self.results.append((_one_box(pred, 'pred_bboxes'), _one_box(gt, 'gt_bboxes')))

    def compute_metrics(self, results):
        preds = torch.stack([r[0] for r in results])  # [N, 4]
        gts = torch.stack([r[1] for r in results])  # [N, 4]
        return grounding_scores(paired_box_iou(preds, gts), self.iou_thr)
