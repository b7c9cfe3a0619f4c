"""``SquadMetric``: exact match and F1 of extractive QA, as the official SQuAD evaluation scripts.

Answers are compared after the scripts' ``normalize_answer`` (:func:`normalize_answer`): lower
case, punctuation (``string.punctuation``) removed, the articles "a", "an", "the" removed as
words, whitespace collapsed. Exact match is 1 when the normalised texts are equal; F1 is the
harmonic mean of precision and recall of the shared tokens (a bag, ``collections.Counter``), and
both take the maximum over a question's gold answers. SQuAD 2.0 (``evaluate-v2.0.py``): gold
answers that normalise to nothing are dropped, and a question left with none has the one gold
answer ``''``; against ``''`` either score is 1 only when the prediction is ``''`` too. The
2.0 script also reports the answerable (``HasAns_*``) and unanswerable (``NoAns_*``) questions
apart.

Across the windows of one question the answer is the span of the highest score; the null score
is the lowest [CLS] score of its windows (the reference BERT code's ``score_null``), and on
SQuAD 2.0 the prediction is ``''`` when ``null score - best span score > null_threshold``
(``null_score_diff_threshold``).
"""
import collections
import re
import string

from mmengine.evaluator import BaseMetric

from mplug_registry.registry import METRICS
from mplug_registry_plugins.metrics._fields import sample_field

ARTICLES = re.compile(r'\b(a|an|the)\b', re.UNICODE)
PUNCTUATION = set(string.punctuation)


def normalize_answer(text):
    """The official ``normalize_answer``: lower case, no punctuation, no articles, single
    spaces (in the script's order: lower, punctuation, articles, whitespace)."""
    text = ''.join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return ' '.join(ARTICLES.sub(' ', text).split())


def exact_match(prediction, gold):
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction, gold):
    """Token F1 of the normalised texts (1 when both are empty, 0 when only one is)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def gold_answers(answers, version_2=True):
    """The scripts' gold answers: SQuAD 2.0 keeps those that normalise to something, 1.1 all;
    none left gives ``['']``."""
    kept = [a for a in answers if normalize_answer(a)] if version_2 else list(answers)
    return kept or ['']


def score_question(prediction, answers, version_2=True):
    """``(exact match, F1)`` of one prediction: the maximum over the gold answers."""
    golds = gold_answers(answers, version_2)
    return (max(exact_match(prediction, g) for g in golds),
            max(f1_score(prediction, g) for g in golds))


def choose_answers(windows, null_threshold=0.0, version_2=True):
    """``{question id: answer text}`` from the per-window predictions.

    ``windows``: dicts with ``question_id``, ``pred_span_text``, ``pred_span_score`` and
    ``pred_null_score``. The best-scoring span across a question's windows wins; with
    ``version_2`` the answer is ``''`` when the lowest null score beats it by more than
    ``null_threshold`` (or no window has a valid span).
    """
    best, null = {}, {}
    for w in windows:
        qid = w['question_id']
        if qid not in best or w['pred_span_score'] > best[qid][0]:
            best[qid] = (w['pred_span_score'], w['pred_span_text'])
        null[qid] = min(null.get(qid, float('inf')), w['pred_null_score'])
    answers = {}
    for qid, (score, text) in best.items():
        if version_2 and (score == float('-inf') or null[qid] - score > null_threshold):
            text = ''
        answers[qid] = text
    return answers


@METRICS.register_module()
class SquadMetric(BaseMetric):
    """SQuAD exact match and F1 over the windows' predictions (``SpanHead``), in [0, 1] (the
    official scripts print these times 100).

    Args:
        null_threshold: SQuAD 2.0: answer ``''`` when the null score exceeds the best span's
            score by more than this (the scripts' ``null_score_diff_threshold``).
        version_2: score as SQuAD 2.0 (``HasAns`` / ``NoAns`` keys, null answers); ``None``:
            when the samples carry ``is_impossible`` (a v2.0 file).

    Keys (prefix ``squad``): ``exact_match``, ``f1``; SQuAD 2.0 adds ``HasAns_exact_match``,
    ``HasAns_f1``, ``NoAns_exact_match``, ``NoAns_f1`` (a group without questions is left out).
    Every window of a question must reach the metric (the dataset keeps them all).
    """
    default_prefix = 'squad'

    def __init__(self, null_threshold=0.0, version_2=None, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.check_args(null_threshold, version_2)
        self.null_threshold = float(null_threshold)
        self.version_2 = version_2

    @staticmethod
    def check_args(null_threshold=0.0, version_2=None, **_):
        if isinstance(null_threshold, bool) or not isinstance(null_threshold, (int, float)):
            raise ValueError(f'null_threshold must be a number, got {null_threshold!r}')
        if version_2 not in (None, True, False):
            raise ValueError(f'version_2 must be True, False or None, got {version_2!r}')

    def process(self, data_batch, data_samples):
        writer = 'SpanHead.predict writes it'
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            self.results.append(dict(
                question_id=str(sample_field(sample, 'question_id', 'SquadMetric',
                                             'SquadDataset writes it')),
                pred_span_text=sample_field(sample, 'pred_span_text', 'SquadMetric', writer),
                pred_span_score=float(sample_field(sample, 'pred_span_score', 'SquadMetric',
                                                   writer)),
                pred_null_score=float(sample_field(sample, 'pred_null_score', 'SquadMetric',
                                                   writer)),
                gt_answers=list(sample.get('gt_answers') or []),
                is_impossible=sample.get('is_impossible')))

    def compute_metrics(self, results):
        version_2 = self.version_2
        if version_2 is None:
            version_2 = any(r['is_impossible'] is not None for r in results)
        answers = choose_answers(results, self.null_threshold, version_2)
        golds = {r['question_id']: r['gt_answers'] for r in results}
        scores = {qid: score_question(answers[qid], golds[qid], version_2) for qid in answers}
        out = mean_scores(scores.values())
        if version_2:
            for group, keep in (('HasAns', True), ('NoAns', False)):
                part = [v for qid, v in scores.items() if bool(golds[qid]) == keep]
                if part:
                    out.update({f'{group}_{k}': v for k, v in mean_scores(part).items()})
        return out


def mean_scores(pairs):
    """``{'exact_match', 'f1'}``: means of ``(exact match, F1)`` pairs."""
    pairs = list(pairs)
    if not pairs:
        return dict(exact_match=0.0, f1=0.0)
    return dict(exact_match=sum(p[0] for p in pairs) / len(pairs),
                f1=sum(p[1] for p in pairs) / len(pairs))
