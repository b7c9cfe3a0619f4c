"""``Accuracy``: top-k classification accuracy from ``pred_score`` / ``gt_label``."""
import torch
from mmengine.evaluator import BaseMetric

from mplug_registry.registry import METRICS


def topk_accuracy(scores, labels, topk=(1, )):
    """Share of rows whose label is among the k highest scores, for each k."""
    maxk = min(max(topk), scores.shape[1])
    hits = scores.topk(maxk, dim=1).indices == labels[:, None]
    return {k: hits[:, :min(k, maxk)].any(dim=1).float().mean().item() for k in topk}


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy (keys ``accuracy/top1`` ...) over data samples with ``pred_score``."""
    default_prefix = 'accuracy'

    def __init__(self, topk=(1, ), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.check_args(topk)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)

    @staticmethod
    def check_args(topk=(1, ), **_):
        ks = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not ks or not all(isinstance(k, int) and k > 0 for k in ks):
            raise ValueError(f'topk must be positive integers, got {topk!r}')

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            self.results.append((torch.as_tensor(sample.get('pred_score')).cpu().float(),
                                 int(torch.as_tensor(sample.get('gt_label')))))

    def compute_metrics(self, results):
        scores = torch.stack([r[0] for r in results])
        labels = torch.tensor([r[1] for r in results])
        return {f'top{k}': v for k, v in topk_accuracy(scores, labels, self.topk).items()}
