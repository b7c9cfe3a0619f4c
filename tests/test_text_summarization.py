"""Summarization (mPLUG-2 Table 2): ROUGE, no-repeat n-gram generation, the Gigaword-layout
dataset and its bad rows, the review-summary maker, and the tiny config end to end."""
import importlib.util
import json
import logging
import re
import subprocess
import sys

import pytest
import torch
from mmengine.registry import DefaultScope

from conftest import ROOT
from mplug_registry_plugins.datasets.summarization import GigawordDataset
from mplug_registry_plugins.decoders.generation import (beam_search, greedy_search,
                                                        repeated_ngram_bans)
from mplug_registry_plugins.metrics.rouge import RougeMetric, rouge_scores

TINY = 'configs/text_summarization/gigaword_tiny_reviews.py'
BOS, EOS, PAD = 1, 2, 0


# ---------------------------------------------------------------------------------- ROUGE
def test_rouge_of_known_pairs_matches_the_hand_computed_values():
    # ref "police killed the gunman", pred "the gunman police killed": all 4 unigrams match (1);
    # bigrams: "the gunman", "police killed" of 3 each (2/3); LCS "police killed" = 2 of 4 (1/2)
    scores = rouge_scores(['the gunman police killed'], ['police killed the gunman'])
    assert scores == pytest.approx(dict(rouge1=1.0, rouge2=2 / 3, rougeL=0.5))
    # stemming: cats -> cat, runs / running -> run; P = 2/3, R = 2/4, F = 4/7; no shared bigram
    scores = rouge_scores(['a cat runs'], ['the cats were running'])
    assert scores == pytest.approx(dict(rouge1=4 / 7, rouge2=0.0, rougeL=4 / 7))
    assert rouge_scores(['a cat runs'], ['the cats were running'], use_stemmer=False)['rouge1'] \
        == 0.0


def test_rouge_metric_averages_samples_and_takes_the_best_reference():
    metric = RougeMetric()
    metric.process(None, [dict(pred_summary='the gunman police killed',
                               gt_summary='police killed the gunman'),
                          dict(pred_summary='', gt_summary='nothing matches'),
                          dict(pred_summary='a cat runs', gt_summary=['dogs', 'a cat runs'])])
    scores = metric.evaluate(3)
    assert scores == pytest.approx({'rouge/rouge1': (1 + 0 + 1) / 3,
                                    'rouge/rouge2': (2 / 3 + 0 + 1) / 3,
                                    'rouge/rougeL': (0.5 + 0 + 1) / 3})
    with pytest.raises(ValueError, match="unknown ROUGE type 'rougel' \\(did you mean 'rougeL'"):
        RougeMetric(rouge_types=('rouge1', 'rougel'))
    metric = RougeMetric()
    with pytest.raises(ValueError, match="RougeMetric needs data samples with 'pred_summary'"):
        metric.process(None, [dict(gt_summary='x')])


# ---------------------------------------------------------------------------------- no repeat
def test_repeated_ngram_bans_follow_hugging_face():
    assert repeated_ngram_bans([5, 6, 5], 2) == {6}
    assert repeated_ngram_bans([5, 6, 7, 5, 6], 3) == {7}
    assert repeated_ngram_bans([5, 6, 7], 1) == {5, 6, 7}
    assert repeated_ngram_bans([5, 6], 3) == set() and repeated_ngram_bans([5, 5], 0) == set()
    from transformers.generation.logits_process import NoRepeatNGramLogitsProcessor
    gen = torch.Generator().manual_seed(0)
    for n in (1, 2, 3, 4):
        ids = torch.randint(3, 7, (20, 12), generator=gen)                  # many repeats
        banned = NoRepeatNGramLogitsProcessor(n)(ids, torch.zeros(20, 8)).isinf()
        for row, tokens in enumerate(ids.tolist()):
            assert repeated_ngram_bans(tokens, n) == set(banned[row].nonzero()[:, 0].tolist())


class FixedStep:
    """A stepper whose next-token scores ignore the history: token 5 best, then 6, 7, ...; the
    end token worst. Without a ban a search repeats token 5."""
    vocab = 12

    def __call__(self, ids):
        scores = 5.0 - torch.arange(self.vocab, dtype=torch.float)          # 5 -> 0, 6 -> -1
        scores[:5] = -50.0
        scores[EOS] = -20.0
        return scores.log_softmax(-1).expand(ids.shape[0], -1).clone()

    def reorder(self, index):
        pass


def has_repeat(tokens, n):
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


def test_greedy_search_never_repeats_an_ngram_and_ignores_the_prompt():
    kwargs = dict(max_length=6, min_length=0, eos_id=EOS, pad_id=PAD)
    plain = greedy_search(FixedStep(), torch.tensor([[BOS]]), **kwargs).sequences[0]
    assert plain == [5] * 6
    assert greedy_search(FixedStep(), torch.tensor([[BOS]]), no_repeat_ngram_size=0,
                         **kwargs).sequences[0] == plain
    # by hand: 5 5 | 5 5 exists -> 6 | 5 | 5 5, 5 6 exist -> 7 | 5
    out = greedy_search(FixedStep(), torch.tensor([[BOS]]), no_repeat_ngram_size=2, **kwargs)
    assert out.sequences[0] == [5, 5, 6, 5, 7, 5]
    # the prompt's own bigram (5, 5) is not counted: the same tokens after it
    prompted = greedy_search(FixedStep(), torch.tensor([[BOS, 5, 5]]), no_repeat_ngram_size=2,
                             **kwargs)
    assert prompted.sequences[0] == [5, 5, 6, 5, 7, 5]
    assert greedy_search(FixedStep(), torch.tensor([[BOS]]), no_repeat_ngram_size=1,
                         **kwargs).sequences[0] == [5, 6, 7, 8, 9, 10]


@pytest.mark.parametrize('n', [1, 2, 3])
def test_beam_search_never_repeats_an_ngram(n):
    kwargs = dict(max_length=6, min_length=0, eos_id=EOS, pad_id=PAD)
    prompt = torch.tensor([[BOS, 5, 5], [BOS, 6, 5]])
    plain = beam_search(FixedStep(), prompt, 3, **kwargs)
    assert plain.sequences == [[5] * 6] * 2
    out = beam_search(FixedStep(), prompt, 3, no_repeat_ngram_size=n, **kwargs)
    for tokens in out.sequences:
        assert len(tokens) == 6 and not has_repeat(tokens, n), tokens
    greedy = greedy_search(FixedStep(), prompt, no_repeat_ngram_size=n, **kwargs)
    # the best beam is at least as likely as the greedy path under the same ban
    assert all(b >= g - 1e-6 for b, g in zip(out.scores, greedy.scores))


@pytest.mark.parametrize('num_beams', [1, 3])
def test_decoder_generate_with_no_repeat_ngram_and_off_unchanged(num_beams):
    from test_decoder import memory, tiny_decoder
    decoder, mem = tiny_decoder(), memory(batch=4)
    default = decoder.generate(mem, num_beams=num_beams, max_length=12, min_length=12)
    off = decoder.generate(mem, num_beams=num_beams, max_length=12, min_length=12,
                           no_repeat_ngram_size=0)
    assert off.sequences == default.sequences and off.scores == default.scores
    assert any(has_repeat(tokens, 2) for tokens in default.sequences)   # the ban has work to do
    banned = decoder.generate(mem, num_beams=num_beams, max_length=12, min_length=12,
                              no_repeat_ngram_size=2)
    assert not any(has_repeat(tokens, 2) for tokens in banned.sequences)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match='no_repeat_ngram_size must be an integer >= 0'):
            decoder.generate(mem, no_repeat_ngram_size=bad)


def test_lm_head_validates_and_passes_no_repeat_ngram_size():
    from mplug_registry_plugins.heads.lm import LMHead
    assert LMHead(no_repeat_ngram_size=3).generation['no_repeat_ngram_size'] == 3
    assert LMHead().generation['no_repeat_ngram_size'] == 0
    with pytest.raises(ValueError, match='no_repeat_ngram_size must be an integer >= 0'):
        LMHead(no_repeat_ngram_size=-2)


# ---------------------------------------------------------------------------------- dataset
def write(path, lines, end='\n'):
    path.write_text(''.join(line + end for line in lines), encoding='utf-8')
    return str(path)


def test_gigaword_dataset_reads_pairs_and_unlabelled_sources(tmp_path):
    src = write(tmp_path / 'a.src', ['police killed the gunman on monday', 'b  c '], end='\r\n')
    tgt = write(tmp_path / 'a.tgt', ['gunman killed', 'b'])
    with DefaultScope.overwrite_default_scope('mplug_registry'):   # the runner's scope
        data = GigawordDataset(ann_file='a.src', target_file='a.tgt', data_root=str(tmp_path),
                               pipeline=[dict(type='PackMultimodalInputs')])
    assert len(data) == 2 and data.metainfo['task'] == 'summarization'
    assert data.get_data_info(1)['text'] == 'b  c' and data.get_data_info(1)['gt_summary'] == 'b'
    sample = data[0]['data_samples']
    assert (sample.text, sample.gt_summary, sample.text_id) == \
        ('police killed the gunman on monday', 'gunman killed', 1)
    assert sample.task == 'summarization'
    test = GigawordDataset(ann_file=src, test_mode=True)
    assert len(test) == 2 and 'gt_summary' not in test.get_data_info(0)
    with pytest.raises(FileNotFoundError, match="target_file: no file '.*missing.tgt'"):
        GigawordDataset.check_args(ann_file=src, target_file=str(tmp_path / 'missing.tgt'))
    with pytest.raises(ValueError, match="GigawordDataset has no argument 'skip_bad_rows' "
                                         "\\(did you mean 'skip_bad'\\?\\)"):
        GigawordDataset.check_args(ann_file=src, skip_bad_rows=True)


def test_gigaword_bad_rows_are_one_line_errors_or_counted_skips(tmp_path, caplog):
    src = write(tmp_path / 's.src', ['one source', '   ', 'three', 'four', 'five'])
    tgt = write(tmp_path / 's.tgt', ['one', 'two', 'three', ''])
    with pytest.raises(ValueError) as err:
        GigawordDataset(ann_file=src, target_file=tgt)
    assert str(err.value) == f"'{src}', line 2: empty source line"
    write(tmp_path / 's.src', ['one source', 'two', 'three', 'four', 'five'])
    with pytest.raises(ValueError) as err:
        GigawordDataset(ann_file=src, target_file=tgt)
    assert str(err.value) == f"'{tgt}', line 4: empty target line"
    write(tmp_path / 's.tgt', ['one', 'two', 'three', 'four'])
    with pytest.raises(ValueError) as err:
        GigawordDataset(ann_file=src, target_file=tgt)
    assert str(err.value) == (f"'{src}', line 5: a source line without a target line ('{tgt}' "
                              'has 4 lines, this file 5)')
    write(tmp_path / 'short.src', ['one'])
    with pytest.raises(ValueError, match=r"'.*s\.tgt', line 2: a target line without a source"):
        GigawordDataset(ann_file=str(tmp_path / 'short.src'), target_file=tgt)
    write(tmp_path / 's.src', ['one source', '', 'three', 'four', 'five'])
    # through the tools: the same line, exit 2
    files = [f'{loader}.dataset.{key}={value}' for loader in
             ('train_dataloader', 'val_dataloader', 'test_dataloader')
             for key, value in (('data_root', ''), ('ann_file', src), ('target_file', tgt))]
    proc = subprocess.run([sys.executable, 'tools/train.py', TINY, '--work-dir',
                           str(tmp_path / 'work'), '--cfg-options', *files],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == \
        f"train: error: '{src}', line 2: empty source line"
    with caplog.at_level(logging.WARNING):
        data = GigawordDataset(ann_file=src, target_file=tgt, skip_bad=True)
    assert len(data) == 3 and data.num_skipped_rows == 2
    assert [r[1] for r in data.skipped_rows] == [2, 5]
    assert [data.get_data_info(i)['text_id'] for i in range(3)] == [1, 3, 4]


# ---------------------------------------------------------------------------------- data maker
def load_maker():
    spec = importlib.util.spec_from_file_location('make_review_summaries',
                                                  ROOT / 'tools' / 'make_review_summaries.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_review_summaries_hold_out_movies_and_copy_the_first_clause():
    maker = load_maker()
    assert maker.first_clause('A dark, dull thriller -- with a twist. Really.', 8) == \
        'a dark, dull thriller'
    assert maker.first_clause('(Sigh.) Nine words here that run on and on and on', 3) == \
        'sigh nine words'
    reviews = [dict(text=f'review {i} of movie {m}, which has enough words to be kept here',
                    label=i % 2, movie=f'm{m}') for m in range(10) for i in range(3)]
    pairs = maker.summary_pairs(reviews, min_words=12, clause_words=8)
    assert len(pairs['dev']) == 6 and len(pairs['train']) == 24        # movies m4 and m9
    assert all(' of movie 4' in s or ' of movie 9' in s for s, _ in pairs['dev'])
    assert pairs['train'][0] == (reviews[0]['text'],
                                 'rotten: review 0 of movie 0, which has enough')   # 8 words
    assert pairs['train'][1][1] == 'fresh: review 1 of movie 0, which has enough'


def run_tool(*args, timeout=300):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, proc.stderr


# ---------------------------------------------------------------------------------- end to end
def test_tiny_config_trains_and_tests_with_rouge(tmp_path):
    """tools/make_review_summaries.py -> tools/train.py (a few iterations) -> tools/test.py."""
    data = tmp_path / 'data'
    out, _ = run_tool('tools/make_review_summaries.py', '--out-dir', str(data), '--max-train',
                      '64', '--max-dev', '16')
    assert json.loads(out.splitlines()[0]) == dict(train=64, dev=16)
    first = (data / 'train.tgt').read_bytes()
    assert 'kept the existing files' in run_tool('tools/make_review_summaries.py', '--out-dir',
                                                 str(data))[0]
    run_tool('tools/make_review_summaries.py', '--out-dir', str(data), '--max-train', '64',
             '--max-dev', '16', '--force')
    assert (data / 'train.tgt').read_bytes() == first                  # deterministic
    roots = [f'{loader}.dataset.data_root={data}' for loader in
             ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'work'
    log = '\n'.join(run_tool('tools/train.py', TINY, '--work-dir', str(work), '--cfg-options',
                             *roots, 'train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
                             'default_hooks.logger.interval=1', timeout=600))
    losses = [float(v) for v in re.findall(r'Epoch\(train\).*summary\.loss_lm: ([\d.]+)', log)]
    assert len(losses) == 6 and losses[-1] < losses[0], losses
    val = re.findall(r'Epoch\(val\) \[3\].*rouge/rouge1: ([\d.]+)\s+rouge/rouge2: ([\d.]+)\s+'
                     r'rouge/rougeL: ([\d.]+)', log)
    assert len(val) == 1, log[-2000:]
    ckpt = next(work.glob('best_rouge_rougeL_epoch_*.pth'))
    out, _ = run_tool('tools/test.py', TINY, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                      '--cfg-options', *roots)
    metrics = json.loads(out.strip().splitlines()[-1])                 # the printed metrics
    assert set(metrics) == {'rouge/rouge1', 'rouge/rouge2', 'rouge/rougeL'}
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics['rouge/rouge1'] == pytest.approx(float(val[0][0]), abs=1e-4)
    # one typed source line through tools/infer.py: the summary is printed
    out, _ = run_tool('tools/infer.py', TINY, str(ckpt), '--text',
                      'A raw comedy that is intermittently hilarious, as long as you like crude jokes.')
    assert re.search(r'^summary: \S', out, flags=re.M), out
