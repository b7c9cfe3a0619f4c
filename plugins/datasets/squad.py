"""``SquadDataset``: extractive question answering in the SQuAD v1.1 / v2.0 json format.

A SQuAD file is ``{"version": ..., "data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}], "is_impossible"?}]}]}]}`` (Rajpurkar et al.,
2016 and 2018). Each question is tokenized with its context by the tokenizer's own fast
``transformers`` tokenizer (``[CLS] question [SEP] context [SEP]``, only the context truncated);
a context longer than a window is split into overlapping windows (``return_overflowing_tokens``,
``doc_stride`` tokens shared by consecutive windows, Devlin et al.'s ``doc_stride``), and the
token -> character map of the context comes from the tokenizer's ``offset_mapping``.
"""
import logging

from mmengine.logging import print_log

from mplug_registry.builder import build_component
from mplug_registry.checks import check_positive
from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import BadRow, MultimodalDataset, read_json

#: offset of a token that is not part of the context ([CLS], the question, [SEP], padding)
NOT_CONTEXT = (-1, -1)


def build_tokenizer(tokenizer):
    """A tokenizer from a config dict, a path / model-package name, or a built tokenizer."""
    if isinstance(tokenizer, dict):
        return build_component(tokenizer, 'tokenizer')
    if isinstance(tokenizer, str):
        from mplug_registry_plugins.encoders.tokenizer import BertTokenizer
        return BertTokenizer(tokenizer)
    return tokenizer


def answer_window(offsets, start_char, end_char):
    """``(start token, end token)`` of the characters ``[start_char, end_char)`` in one window,
    or ``(0, 0)`` ([CLS]) when the window does not hold the whole answer.

    ``offsets``: ``(start, end)`` characters per token, :data:`NOT_CONTEXT` outside the context.
    """
    inside = [i for i, (s, e) in enumerate(offsets) if (s, e) != NOT_CONTEXT]
    if not inside or offsets[inside[0]][0] > start_char or offsets[inside[-1]][1] < end_char:
        return 0, 0
    start = next(i for i in inside if offsets[i][1] > start_char)
    end = next(i for i in reversed(inside) if offsets[i][0] < end_char)
    return start, end


class QuestionWindows:
    """``[CLS] question [SEP] context [SEP]`` windows of questions about contexts, with the
    context's character offsets per token (the settings of :class:`SquadDataset`)."""

    def __init__(self, tokenizer, max_length, doc_stride, max_query_length):
        self.tokenizer, self.max_length = tokenizer, max_length
        self.doc_stride, self.max_query_length = doc_stride, max_query_length

    def _questions(self, examples):
        """Question texts cut to :attr:`max_query_length` tokens (at a token's end)."""
        enc = self.tokenizer.backend([e['question'] for e in examples], add_special_tokens=False,
                                     return_offsets_mapping=True)
        out = []
        for e, offsets in zip(examples, enc['offset_mapping']):
            q = e['question'].lstrip()       # leading spaces only cost window room
            if len(offsets) > self.max_query_length:
                q = e['question'][:offsets[self.max_query_length - 1][1]].lstrip()
            out.append(q)
        return out

    def __call__(self, examples, version_2=False):
        """One data info per window of each example (see :class:`SquadDataset`)."""
        if not examples:
            return []
        enc = self.tokenizer.backend(
            self._questions(examples), [e['context'] for e in examples],
            truncation='only_second', max_length=self.max_length, stride=self.doc_stride,
            return_overflowing_tokens=True, return_offsets_mapping=True,
            return_token_type_ids=True)
        infos = []
        for w, index in enumerate(enc['overflow_to_sample_mapping']):
            example = examples[index]
            sequence = enc.sequence_ids(w)
            offsets = [tuple(o) if s == 1 else NOT_CONTEXT
                       for o, s in zip(enc['offset_mapping'][w], sequence)]
            start = end = 0
            if example['answers']:
                char, text = example['answers'][0]
                start, end = answer_window(offsets, char, char + len(text))
            info = dict(input_ids=list(enc['input_ids'][w]),
                        token_type_ids=list(enc['token_type_ids'][w]), offsets=offsets,
                        context=example['context'], question=example['question'],
                        question_id=example['question_id'], example_id=index,
                        gt_answers=[text for _, text in example['answers']],
                        start_position=start, end_position=end)
            if version_2:
                info['is_impossible'] = bool(example['is_impossible'])
            infos.append(info)
        return infos


@DATASETS.register_module()
class SquadDataset(MultimodalDataset):
    """One sample per window of each question of a SQuAD v1.1 / v2.0 json file.

    Args:
        ann_file: the SQuAD json file (relative to ``data_root`` unless absolute).
        tokenizer: the text tokenizer: a config dict (``dict(type='BertTokenizer', path=...)``),
            a tokenizer directory or model package name, or a built :class:`BertTokenizer`; the
            model's data preprocessor must use the same vocabulary.
        max_length: tokens per window, ``[CLS] question [SEP] context [SEP]`` included.
        doc_stride: tokens that consecutive windows of a long context share (the overlap, as
            ``transformers``' ``stride``).
        max_query_length: questions longer than this many tokens are cut to it.
        skip_bad: a question whose answer text is not at its ``answer_start`` (or otherwise
            malformed) is skipped, logged and counted (:attr:`num_skipped`,
            :attr:`skipped_questions`) instead of raising a one-line :class:`BadRow` (a
            ``ValueError``) naming the file and the question id.
        fraction: keep this share of the questions (evenly spaced in file order; all the windows
            of a kept question are kept).
        test_mode: as in training, every window is a sample; only the training targets differ
            in use.
        **kwargs: the rest of :class:`MultimodalDataset` (``pipeline``, ``data_root``, ...).

    Each sample: ``input_ids``, ``token_type_ids``, ``offsets`` (``(start, end)`` characters of
    the context per token, ``(-1, -1)`` outside it), ``context``, ``question``, ``question_id``,
    ``example_id`` (the question's index), ``gt_answers`` (answer texts, ``[]`` when impossible),
    ``start_position`` / ``end_position`` (tokens of the first answer in this window, 0 = [CLS]
    when the window does not hold it or there is none) and, for v2.0 files, ``is_impossible``.
    A file is v2.0 when its ``version`` says so or any question has ``is_impossible``.
    """
    METAINFO = dict(task='extractive_qa')

    def __init__(self, ann_file='', tokenizer=None, max_length=384, doc_stride=128,
                 max_query_length=64, skip_bad=False, **kwargs):
        self._own = dict(tokenizer=tokenizer, max_length=max_length, doc_stride=doc_stride,
                         max_query_length=max_query_length, skip_bad=skip_bad)
        self.tokenizer = build_tokenizer(tokenizer)
        self.max_length, self.doc_stride = max_length, doc_stride
        self.max_query_length = max_query_length
        self.skip_bad = bool(skip_bad)
        self.skipped_questions = {}   # question id -> reason
        self.version_2 = False
        super().__init__(ann_file=ann_file, **kwargs)

    @classmethod
    def check_args(cls, ann_file='', data_root='', data_prefix=None, tokenizer=None,
                   max_length=384, doc_stride=128, max_query_length=64, skip_bad=False,
                   **others):
        if tokenizer is None:
            raise ValueError("tokenizer is required, e.g. dict(type='BertTokenizer', path=...)")
        for name, value in (('max_length', max_length), ('doc_stride', doc_stride),
                            ('max_query_length', max_query_length)):
            check_positive(name, value)
        # room for the question, three special tokens and more context than the overlap
        if max_query_length + doc_stride + 3 >= max_length:
            raise ValueError(f'max_length ({max_length}) must exceed max_query_length '
                             f'({max_query_length}) + doc_stride ({doc_stride}) + 3, so that each '
                             'window moves on through the context')
        super().check_args(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                           **others)

    def checked_args(self):
        return {k: v for k, v in self._own.items()}

    @property
    def num_skipped(self):
        """How many questions were skipped as bad (``skip_bad=True``)."""
        return len(self.skipped_questions)

    # ------------------------------------------------------------------ reading
    def read_examples(self):
        """The questions of the file: ``[dict(question_id, question, context, answers=[(start,
        text)], is_impossible)]``; a bad entry raises or is skipped (``skip_bad``)."""
        data = read_json(self.ann_file)
        if not isinstance(data, dict) or not isinstance(data.get('data'), list):
            raise BadRow(f"'{self.ann_file}': expected a SQuAD file "
                             '{"version": ..., "data": [{"title", "paragraphs": [...]}]}')
        version = str(data.get('version', ''))
        self.version_2 = version.lstrip('v').startswith('2')
        examples = []
        for a, article in enumerate(data['data']):
            paragraphs = article.get('paragraphs') if isinstance(article, dict) else None
            if not isinstance(paragraphs, list):
                raise BadRow(f"'{self.ann_file}': data[{a}] has no `paragraphs` list")
            for p, paragraph in enumerate(paragraphs):
                where = f'data[{a}].paragraphs[{p}]'
                context = paragraph.get('context') if isinstance(paragraph, dict) else None
                if not isinstance(context, str) or not isinstance(paragraph.get('qas'), list):
                    raise BadRow(f"'{self.ann_file}': {where} needs a `context` string and a "
                                     '`qas` list')
                for q, qa in enumerate(paragraph['qas']):
                    example = self._example(qa, context, f'{where}.qas[{q}]')
                    if example is not None:
                        examples.append(example)
        self.version_2 = self.version_2 or any(e['is_impossible'] is not None for e in examples)
        if self.skipped_questions:
            first = ', '.join(f"'{k}' ({v})" for k, v in list(self.skipped_questions.items())[:3])
            more = f' and {self.num_skipped - 3} more' if self.num_skipped > 3 else ''
            print_log(f"{type(self).__name__}: skipped {self.num_skipped} bad question(s) of "
                      f"'{self.ann_file}': {first}{more}", logger='current',
                      level=logging.WARNING)
        return examples

    def _example(self, qa, context, where):
        """One question as a dict, or ``None`` when it is bad and ``skip_bad`` is set."""
        qid = qa.get('id', where) if isinstance(qa, dict) else where
        try:
            if not isinstance(qa, dict):
                raise ValueError(f'expected an object with `id`, `question` and `answers`, got a '
                                 f'{type(qa).__name__}')
            question = qa.get('question')
            if not isinstance(question, str) or not question.strip():
                raise ValueError(f'`question` must be a non-empty string, got {question!r}')
            impossible = qa.get('is_impossible')
            answers = [] if impossible else qa.get('answers', [])
            if not isinstance(answers, list):
                raise ValueError(f'`answers` must be a list, got {type(answers).__name__}')
            spans = [self._answer(ans, context) for ans in answers]
            if not spans and not impossible:
                raise ValueError('has no answers and is not marked `is_impossible`')
        except ValueError as err:
            reason = str(err)
            if not self.skip_bad:
                raise BadRow(f"'{self.ann_file}', question '{qid}': {reason}") from None
            self.skipped_questions[str(qid)] = reason
            return None
        return dict(question_id=str(qid), question=question, context=context, answers=spans,
                    is_impossible=None if impossible is None else bool(impossible))

    @staticmethod
    def _answer(ans, context):
        """``(answer_start, text)`` of one answer, checked against the context."""
        if not isinstance(ans, dict) or not isinstance(ans.get('text'), str) \
                or isinstance(ans.get('answer_start'), bool) \
                or not isinstance(ans.get('answer_start'), int):
            raise ValueError(f'an answer must be {{"text": str, "answer_start": int}}, got {ans!r}')
        start, text = ans['answer_start'], ans['text']
        found = context[start:start + len(text)] if 0 <= start <= len(context) else None
        if found != text:
            raise ValueError(f'answer_start {start} does not match the answer {text!r} (the '
                             f'context there reads {found!r})')
        return start, text

    # ------------------------------------------------------------------ windows
    def windows(self, examples):
        """One data info per window of each example (see the class docstring)."""
        return QuestionWindows(self.tokenizer, self.max_length, self.doc_stride,
                               self.max_query_length)(examples, self.version_2)

    # ------------------------------------------------------------------ one typed question
    @classmethod
    def infer_infos(cls, dataset_cfg, question=None, text=None):
        """The windows of one typed question about a typed context (``tools/infer.py --question
        Q --text CONTEXT``), made with the tokenizer and window settings of ``dataset_cfg``."""
        if not question or not text:
            raise ValueError('an extractive QA model reads a question and its context: give '
                             '--question and --text (the context)')
        get = dataset_cfg.get
        windowing = QuestionWindows(build_tokenizer(get('tokenizer')), get('max_length', 384),
                                    get('doc_stride', 128), get('max_query_length', 64))
        return windowing([dict(question_id='0', question=question, context=text, answers=[],
                               is_impossible=None)], version_2=True)

    @staticmethod
    def merge_predictions(samples):
        """``{'answer': text}`` across the windows' predictions of one question, chosen as
        :class:`SquadMetric` chooses (``''``: the model finds no answer in the context)."""
        from mplug_registry_plugins.metrics.squad import choose_answers
        windows = [dict(question_id='0', pred_span_text=s.pred_span_text,
                        pred_span_score=s.pred_span_score, pred_null_score=s.pred_null_score)
                   for s in samples]
        return dict(answer=choose_answers(windows)['0'])

    def load_data_list(self):
        examples = self.read_examples()
        if self.fraction < 1:    # evenly spaced questions, each with all its windows
            keep = max(1, int(len(examples) * self.fraction))
            examples = [examples[int(i / self.fraction)] for i in range(keep)
                        if int(i / self.fraction) < len(examples)]
        return self.windows(examples)
