"""``CaptionMetrics``: the COCO caption metrics (BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE) through
``pycocoevalcap``, as reported in mPLUG-2 Tables 5 and 9 (B@4, M, R, C).

Captions are tokenised with pycocoevalcap's PTB tokenizer (Stanford CoreNLP, lower-cased,
punctuation dropped), then scored by the pycocoevalcap scorers: BLEU with the "closest" reference
length, METEOR 1.5, ROUGE-L, CIDEr-D (``Cider``: n = 1..4, sigma = 6, document frequencies from
the evaluated references) and SPICE.

Java: the tokenizer, METEOR and SPICE run ``java`` (8 or newer). Without it the metric raises a
one-line ``RuntimeError`` when built (every score needs the tokenizer). SPICE also needs the
Stanford CoreNLP 3.6.0 jars, which pycocoevalcap downloads on first use; when they are not there
SPICE is skipped with a logged warning (nothing is downloaded), and when the SPICE run fails it is
skipped with the Java error in the warning.
"""
import logging
import os
import shutil
import subprocess

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mplug_registry.errors import close_match
from mplug_registry.registry import METRICS
from mplug_registry_plugins.metrics._fields import sample_field

CAPTION_METRICS = ('BLEU', 'METEOR', 'ROUGE_L', 'CIDEr', 'SPICE')


def java_missing_reason():
    """Why the Java scorers cannot run (a sentence), or None."""
    if shutil.which('java') is None:
        return ("the 'java' executable is not on PATH: pycocoevalcap's PTB tokenizer and METEOR "
                'run on Java 8+ (install a JRE, e.g. the default-jre-headless package)')
    return None


def spice_unavailable_reason():
    """Why SPICE cannot run offline (a sentence), or None."""
    from pycocoevalcap.spice import get_stanford_models as models
    missing = [f'{models.JAR}{suffix}.jar' for suffix in ('', '-models')
               if not os.path.exists(os.path.join(models.SPICEDIR, models.SPICELIB,
                                                  f'{models.JAR}{suffix}.jar'))]
    if missing:
        return (f'SPICE needs {" and ".join(missing)} in pycocoevalcap/spice/{models.SPICELIB}, '
                'which pycocoevalcap downloads on first use; nothing is downloaded here')
    return None


def ptb_tokenize(captions):
    """``{id: [str]}`` -> ``{id: [tokenised str]}`` by pycocoevalcap's PTB tokenizer (Java)."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    return PTBTokenizer().tokenize({k: [{'caption': c} for c in v] for k, v in captions.items()})


def _run_scorers(gts, res, metrics):
    """``{key: (corpus score, [per-image scores in gts order])}`` for already tokenised captions."""
    out = {}
    if 'BLEU' in metrics:
        from pycocoevalcap.bleu.bleu import Bleu
        score, scores = Bleu(4).compute_score(gts, res, verbose=0)
        out.update({f'Bleu_{n + 1}': (score[n], list(scores[n])) for n in range(4)})
    if 'METEOR' in metrics:
        from pycocoevalcap.meteor.meteor import Meteor
        meteor = Meteor()
        try:
            score, scores = meteor.compute_score(gts, res)
        except ValueError as err:  # the Java process answered nothing (it died)
            raise RuntimeError(f'METEOR (java -jar meteor-1.5.jar) failed: {err}') from err
        finally:
            del meteor  # its destructor stops the Java process
        out['METEOR'] = (score, list(scores))
    if 'ROUGE_L' in metrics:
        from pycocoevalcap.rouge.rouge import Rouge
        score, scores = Rouge().compute_score(gts, res)
        out['ROUGE_L'] = (score, list(scores))
    if 'CIDEr' in metrics:
        from pycocoevalcap.cider.cider import Cider
        score, scores = Cider().compute_score(gts, res)
        out['CIDEr'] = (score, list(scores))
    if 'SPICE' in metrics:
        from pycocoevalcap.spice.spice import Spice
        try:
            score, scores = Spice().compute_score(gts, res)
        except (subprocess.CalledProcessError, OSError, ValueError) as err:
            print_log(f'CaptionMetrics: SPICE skipped, the SPICE run failed: {err}',
                      logger='current', level=logging.WARNING)
        else:  # SPICE scores images in sorted-id order
            by_id = dict(zip(sorted(gts), (s['All']['f'] for s in scores)))
            out['SPICE'] = (score, [by_id[k] for k in gts])
    return out


def coco_caption_scores(gts, res, metrics=CAPTION_METRICS[:-1]):
    """Score predictions against references, as the COCO caption evaluation does.

    ``gts``: ``{id: [reference str, ...]}``; ``res``: ``{id: predicted str}`` with the same ids.
    ``metrics``: names from :data:`CAPTION_METRICS`. Returns ``(corpus, per_image)``: ``corpus``
    maps ``Bleu_1``..``Bleu_4``, ``METEOR``, ``ROUGE_L``, ``CIDEr``, ``SPICE`` to floats (BLEU,
    METEOR, ROUGE-L, SPICE in [0, 1]; CIDEr-D in [0, 10]: papers print it x100), ``per_image`` maps
    the same keys to lists of per-image scores in the order of ``gts``.
    """
    if set(gts) != set(res):
        raise ValueError(f'predictions and references name different ids: '
                         f'{sorted(map(str, set(gts) ^ set(res)))[:5]}')
    reason = java_missing_reason()
    if reason is not None:
        raise RuntimeError(f'caption metrics need Java: {reason}')
    gts_tok = ptb_tokenize({k: list(v) for k, v in gts.items()})  # {id: [str]}
    res_tok = ptb_tokenize({k: [res[k]] for k in gts})  # {id: [str]}
    scored = _run_scorers(gts_tok, res_tok, tuple(metrics))
    return ({k: float(v[0]) for k, v in scored.items()},
            {k: [float(x) for x in v[1]] for k, v in scored.items()})


@METRICS.register_module()
class CaptionMetrics(BaseMetric):
    """COCO caption metrics (keys ``caption/Bleu_1`` .. ``caption/Bleu_4``, ``caption/METEOR``,
    ``caption/ROUGE_L``, ``caption/CIDEr``, ``caption/SPICE``; scales: :func:`coco_caption_scores`).

    Reads ``pred_caption`` (str, from the captioning head), ``gt_caption`` (reference str or list
    of str, from the dataset) and ``image_id`` (optional; the position in the evaluation order
    otherwise) of each data sample: one sample per image, so an ``image_id`` seen twice is an error.

    ``metrics``: which of ``'BLEU', 'METEOR', 'ROUGE_L', 'CIDEr', 'SPICE'`` to compute (default:
    all; SPICE is dropped with a logged warning when it cannot run offline). Building the metric
    without Java raises a one-line RuntimeError.
    """
    default_prefix = 'caption'

    def __init__(self, metrics=CAPTION_METRICS, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.check_args(metrics)
        metrics = (metrics, ) if isinstance(metrics, str) else tuple(metrics)
        reason = java_missing_reason()
        if reason is not None:
            raise RuntimeError(f'CaptionMetrics needs Java: {reason}')
        spice_reason = spice_unavailable_reason() if 'SPICE' in metrics else None
        if spice_reason is not None:
            print_log(f'CaptionMetrics: SPICE skipped: {spice_reason}', logger='current',
                      level=logging.WARNING)
            metrics = tuple(m for m in metrics if m != 'SPICE')
        self.metrics = metrics

    @staticmethod
    def check_args(metrics=CAPTION_METRICS, **_):
        names = (metrics, ) if isinstance(metrics, str) else tuple(metrics)
        if not names:
            raise ValueError(f'metrics must name at least one of {CAPTION_METRICS}')
        for name in names:
            if name not in CAPTION_METRICS:
                match = close_match(str(name), CAPTION_METRICS)
                hint = f"did you mean '{match}'?" if match else f'choose from {CAPTION_METRICS}'
                raise ValueError(f"unknown caption metric '{name}' ({hint})")

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            pred = sample_field(sample, 'pred_caption', 'CaptionMetrics',
                                'written by the captioning head')
            refs = sample_field(sample, 'gt_caption', 'CaptionMetrics', 'from the dataset')
            refs = [refs] if isinstance(refs, str) else list(refs)
            image_id = sample.get('image_id')
            image_id = image_id.item() if hasattr(image_id, 'item') else image_id  # tensor -> int
            self.results.append((image_id, str(pred), [str(r) for r in refs]))

    def compute_metrics(self, results):
        gts, res = {}, {}
        for position, (image_id, pred, refs) in enumerate(results):
            key = position if image_id is None else image_id
            if key in gts:
                raise ValueError(f'image_id {key!r} appears in two data samples: CaptionMetrics '
                                 'takes one sample per image with all its references in '
                                 'gt_caption')
            gts[key], res[key] = refs, pred
        return coco_caption_scores(gts, res, self.metrics)[0]
