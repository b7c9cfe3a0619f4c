"""``RougeMetric``: ROUGE-1, ROUGE-2 and ROUGE-L F-measures of generated summaries, through
Google's ``rouge-score`` package (the reimplementation of Lin's ROUGE-1.5.5 that summarization
papers on Gigaword report, there x100).

Texts are tokenized by ``rouge-score`` (lower-cased, every non-alphanumeric character a separator)
and stemmed with the Porter stemmer (ROUGE-1.5.5's ``-m``). ROUGE-N counts the clipped n-gram
overlap, ROUGE-L the longest common subsequence; each sample's F-measure is
``2 P R / (P + R)`` (0 when nothing overlaps), and the metric is their mean over the samples.
With several references a sample takes its best one (``score_multi``).
"""
from mmengine.evaluator import BaseMetric

from mplug_registry.errors import close_match
from mplug_registry.registry import METRICS
from mplug_registry_plugins.metrics._fields import sample_field

ROUGE_TYPES = ('rouge1', 'rouge2', 'rougeL')


def rouge_scores(predictions, references, rouge_types=ROUGE_TYPES, use_stemmer=True):
    """Mean ROUGE F-measures ``{type: float in [0, 1]}`` of paired texts.

    ``predictions``: list of str; ``references``: list of str or of lists of str (best one).
    """
    from rouge_score import rouge_scorer
    if len(predictions) != len(references):
        raise ValueError(f'{len(predictions)} predictions but {len(references)} references')
    scorer = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=use_stemmer)
    totals = dict.fromkeys(rouge_types, 0.0)
    for pred, refs in zip(predictions, references):
        refs = [refs] if isinstance(refs, str) else list(refs)
        scores = scorer.score(refs[0], pred) if len(refs) == 1 else \
            scorer.score_multi(refs, pred)
        for name in rouge_types:
            totals[name] += scores[name].fmeasure
    count = max(len(predictions), 1)
    return {name: total / count for name, total in totals.items()}


@METRICS.register_module()
class RougeMetric(BaseMetric):
    """ROUGE F-measures (keys ``rouge/rouge1``, ``rouge/rouge2``, ``rouge/rougeL``, in [0, 1]).

    Args:
        rouge_types: which of ``'rouge1'``, ``'rouge2'``, ``'rougeL'`` (also any ``rougeN``
            and ``'rougeLsum'`` that ``rouge-score`` knows).
        use_stemmer: Porter stemming before matching (default, as ROUGE-1.5.5 ``-m``).
        pred_field: data-sample field of the generated summary (what ``LMHead(pred_field=...)``
            writes).
        gt_field: data-sample field of the reference (str or list of str), from the dataset.
    """
    default_prefix = 'rouge'

    def __init__(self, rouge_types=ROUGE_TYPES, use_stemmer=True, pred_field='pred_summary',
                 gt_field='gt_summary', collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.check_args(rouge_types)
        self.rouge_types = (rouge_types, ) if isinstance(rouge_types, str) else tuple(rouge_types)
        self.use_stemmer, self.pred_field, self.gt_field = use_stemmer, pred_field, gt_field

    @staticmethod
    def check_args(rouge_types=ROUGE_TYPES, **_):
        names = (rouge_types, ) if isinstance(rouge_types, str) else tuple(rouge_types)
        if not names:
            raise ValueError(f'rouge_types must name at least one of {ROUGE_TYPES}')
        for name in names:
            valid = isinstance(name, str) and (name in ('rougeL', 'rougeLsum') or (
                name.startswith('rouge') and name[5:].isdigit() and int(name[5:]) > 0))
            if not valid:
                match = close_match(str(name), ROUGE_TYPES)
                hint = f"did you mean '{match}'?" if match else f'choose from {ROUGE_TYPES}'
                raise ValueError(f"unknown ROUGE type '{name}' ({hint})")

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            pred = sample_field(sample, self.pred_field, 'RougeMetric',
                                'written by the summarizing LMHead')
            refs = sample_field(sample, self.gt_field, 'RougeMetric', 'from the dataset')
            refs = [refs] if isinstance(refs, str) else [str(r) for r in refs]
            self.results.append((str(pred), refs))

    def compute_metrics(self, results):
        preds, refs = zip(*results) if results else ((), ())
        return rouge_scores(list(preds), list(refs), self.rouge_types, self.use_stemmer)
