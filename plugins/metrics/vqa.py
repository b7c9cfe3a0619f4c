"""``VQAAccuracy``: the official VQA soft accuracy (Antol et al., ICCV 2015; the VQA v2 script).

For a predicted answer ``a`` and the ``n`` (= 10) human answers ``h_1..h_n`` of a question, the
official script averages over the ``n`` leave-one-out subsets (the 10-choose-9 subsets):

    acc(a) = 1/n * sum_j min(1, #{i != j : h_i == a} / 3)

so an answer given by 0, 1, 2, 3, >= 4 of 10 humans scores 0, 0.3, 0.6, 0.9, 1.0. Answers are
compared after the script's normalisation (:func:`normalize_answer`): punctuation handling
(``processPunctuation``, incl. the digit-comma-digit and the period rules), then lower case, number
words -> digits (``manualMap``), articles dropped, and the ``contractions`` table.

One documented difference: the official script normalises the prediction fully but the ground truth
only with ``processPunctuation`` (and only when the 10 answers differ), because the released
annotations are normalised already. Data samples here may carry raw human answers, so both sides go
through the full normalisation; on the released annotations both give the same numbers.
"""
import re
from collections import defaultdict

from mmengine.evaluator import BaseMetric

from mplug_registry.registry import METRICS
from mplug_registry_plugins.metrics._fields import sample_field

# ---------------------------------------------------------------- the official tables (vqaEval.py)
CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've", "somebodyll": "somebody'll",
    "somebodys": "somebody's", "someoned": "someone'd", "someoned've": "someone'd've",
    "someone'dve": "someone'd've", "someonell": "someone'll", "someones": "someone's",
    "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've",
    "werent": "weren't", "whatll": "what'll", "whatre": "what're", "whats": "what's",
    "whatve": "what've", "whens": "when's", "whered": "where'd", "wheres": "where's",
    "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're",
    "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all",
    "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd", "youd've": "you'd've",
    "you'dve": "you'd've", "youll": "you'll", "youre": "you're", "youve": "you've",
}
MANUAL_MAP = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4',
              'five': '5', 'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
ARTICLES = ('a', 'an', 'the')
PUNCTUATION = (';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@',
               '`', ',', '?', '!')
# the official pattern, typo included: "(?!<=\d)" is a look-ahead, so a period is removed unless a
# digit follows it ("3.5" keeps its period, "dog." loses it)
PERIOD_STRIP = re.compile(r'(?!<=\d)(\.)(?!\d)')
COMMA_STRIP = re.compile(r'(\d)(,)(\d)')
# the official script passes re.UNICODE (= 32) where re.sub takes `count`: at most 32 periods go
_PERIOD_COUNT = 32


def process_punctuation(text):
    """``processPunctuation``: a mark touching a space (or any mark when the text holds a
    digit-comma-digit such as "1,000") is deleted, any other mark becomes a space; then periods not
    followed by a digit are deleted."""
    out = text
    delete_all = COMMA_STRIP.search(text) is not None
    for mark in PUNCTUATION:
        if delete_all or mark + ' ' in text or ' ' + mark in text:
            out = out.replace(mark, '')
        else:
            out = out.replace(mark, ' ')
    return PERIOD_STRIP.sub('', out, count=_PERIOD_COUNT)


def process_digit_article(text):
    """``processDigitArticle``: lower case, number words -> digits, no articles, contractions."""
    words = [MANUAL_MAP.get(w, w) for w in text.lower().split()]
    words = [CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES]
    return ' '.join(words)


def normalize_answer(text):
    """The official normalisation of one answer: ``"Two" -> "2"``, ``"the dog." -> "dog"``."""
    text = text.replace('\n', ' ').replace('\t', ' ').strip()
    return process_digit_article(process_punctuation(text))


def vqa_accuracy(pred_answer, gt_answers):
    """Soft accuracy of one prediction against the human answers (both raw; normalised here)."""
    if len(gt_answers) < 2:
        raise ValueError('VQA soft accuracy averages over leave-one-out subsets of the human '
                         f'answers and needs at least 2 of them, got {len(gt_answers)}')
    pred = normalize_answer(pred_answer)
    hits = [normalize_answer(a) == pred for a in gt_answers]
    matches = sum(hits)
    # leaving out human j removes j's vote when j gave the answer
    return sum(min(1.0, (matches - hit) / 3) for hit in hits) / len(hits)


def _slug(name):
    return re.sub(r'[^0-9A-Za-z]+', '_', str(name)).strip('_')


@METRICS.register_module()
class VQAAccuracy(BaseMetric):
    """Official VQA soft accuracy in [0, 1] (keys ``vqa/accuracy`` and, for samples that carry
    ``answer_type``, ``vqa/accuracy_<type>`` with non-alphanumerics as ``_``: ``accuracy_yes_no``,
    ``accuracy_number``, ``accuracy_other``).

    Args:
        by_question_type: also report the official script's per-question-type accuracy
            (``perQuestionType``) for samples that carry ``question_type`` (the prefix the VQA
            annotations give each question, e.g. "what color is the"), as
            ``vqa/qtype_<type>`` (``qtype_what_color_is_the``). VQA v2 has 65 types, hence off
            by default.
        exact: plain top-1 accuracy instead, as open-ended video QA reports it (MSR-VTT-QA,
            MSVD-QA: one answer per question): 1 when the normalised prediction equals a
            normalised ground-truth answer, else 0.

    Reads ``pred_answer`` (str, from the head) and ``gt_answers`` (the human answers, usually 10
    raw strings, from the dataset) of each data sample; see :func:`vqa_accuracy`.
    """
    default_prefix = 'vqa'

    def __init__(self, by_question_type=False, exact=False, **kwargs):
        super().__init__(**kwargs)
        self.by_question_type, self.exact = bool(by_question_type), bool(exact)

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            pred = sample_field(sample, 'pred_answer', 'VQAAccuracy', 'written by the VQA head')
            gts = sample_field(sample, 'gt_answers', 'VQAAccuracy',
                               'the human answers, from the dataset')
            acc = float(normalize_answer(pred) in {normalize_answer(a) for a in gts}) \
                if self.exact else vqa_accuracy(pred, list(gts))
            self.results.append((acc, sample.get('answer_type'),
                                 sample.get('question_type')))

    def compute_metrics(self, results):
        groups = defaultdict(list)
        for acc, answer_type, question_type in results:
            if answer_type is not None:
                groups[f'accuracy_{_slug(answer_type)}'].append(acc)
            if self.by_question_type and question_type is not None:
                groups[f'qtype_{_slug(question_type)}'].append(acc)
        out = {'accuracy': sum(r[0] for r in results) / len(results)}
        out.update({key: sum(v) / len(v) for key, v in sorted(groups.items())})
        return out
