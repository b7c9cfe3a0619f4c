"""``GlueMetric``: the GLUE benchmark's metrics, computed by scikit-learn and SciPy.

Accuracy (SST-2, MNLI, QNLI, RTE), F1 of the positive class (MRPC, QQP; macro F1 for more than two
classes), Matthews correlation (CoLA) and Pearson / Spearman correlation (STS-B).
"""
from mmengine.evaluator import BaseMetric

from mplug_registry.registry import METRICS

CLASSIFICATION = ('accuracy', 'f1', 'mcc')
REGRESSION = ('pearson', 'spearman')


def glue_scores(preds, labels, metrics):
    """``{name: value}`` for class indices (``accuracy``, ``f1``, ``mcc``) or scores
    (``pearson``, ``spearman``); a correlation of constant predictions is 0, not NaN."""
    import numpy as np
    out = {}
    preds, labels = np.asarray(preds), np.asarray(labels)
    for name in metrics:
        if name == 'accuracy':
            out[name] = float((preds == labels).mean())
        elif name == 'f1':
            from sklearn.metrics import f1_score
            binary = set(np.unique(labels)) | set(np.unique(preds)) <= {0, 1}
            out[name] = float(f1_score(labels, preds, average='binary' if binary else 'macro',
                                       zero_division=0))
        elif name == 'mcc':
            from sklearn.metrics import matthews_corrcoef
            out[name] = float(matthews_corrcoef(labels, preds))
        else:
            from scipy.stats import pearsonr, spearmanr
            if np.ptp(preds) == 0 or np.ptp(labels) == 0:
                out[name] = 0.0
            else:
                stat = (pearsonr if name == 'pearson' else spearmanr)(preds, labels)[0]
                out[name] = float(stat)
    return out


@METRICS.register_module()
class GlueMetric(BaseMetric):
    """GLUE metrics over data samples with ``pred_score`` and ``gt_label``.

    Args:
        metrics: names among ``'accuracy'``, ``'f1'``, ``'mcc'`` (classification: the prediction
            is the argmax of ``pred_score``) or ``'pearson'``, ``'spearman'`` (regression:
            ``pred_score`` is the predicted value), e.g. ``('accuracy', 'f1')`` for MRPC.

    Keys: ``glue/<name>`` (values in [0, 1], correlations in [-1, 1]).
    """
    default_prefix = 'glue'

    def __init__(self, metrics=('accuracy', ), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = self.check_args(metrics)

    @staticmethod
    def check_args(metrics=('accuracy', ), **_):
        names = (metrics, ) if isinstance(metrics, str) else tuple(metrics)
        unknown = [n for n in names if n not in CLASSIFICATION + REGRESSION]
        if not names or unknown:
            raise ValueError(f'metrics must be names among {list(CLASSIFICATION + REGRESSION)}, '
                             f'got {metrics!r}')
        if set(names) & set(CLASSIFICATION) and set(names) & set(REGRESSION):
            raise ValueError(f'metrics mixes classification {list(CLASSIFICATION)} and regression '
                             f'{list(REGRESSION)} names: {metrics!r}')
        return names

    def process(self, data_batch, data_samples):
        import torch
        regression = self.metrics[0] in REGRESSION
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            score, label = sample.get('pred_score'), sample.get('gt_label')
            if score is None or label is None:
                raise ValueError('GlueMetric needs `pred_score` and `gt_label` on every sample '
                                 '(a test file without labels cannot be evaluated)')
            score = torch.as_tensor(score).float()
            pred = float(score.reshape(-1)[0]) if regression else int(score.argmax())
            truth = float(torch.as_tensor(label)) if regression else int(torch.as_tensor(label))
            self.results.append((pred, truth))

    def compute_metrics(self, results):
        preds, labels = zip(*results)
        return glue_scores(preds, labels, self.metrics)
