"""Image-text metrics against hand-computed cases: VQA soft accuracy and answer normalisation,
retrieval recall@K, grounding IoU accuracy, COCO caption scores; each metric end to end through
MMEngine's Evaluator with data samples."""
import math
import random

import pytest
import torch
from mmengine.evaluator import Evaluator

from mplug_registry.builder import check_arguments
from mplug_registry.errors import ConfigError
from mplug_registry.registry import METRICS
from mplug_registry.structures import MultimodalDataSample
from mplug_registry_plugins.metrics import caption
from mplug_registry_plugins.metrics.grounding import paired_box_iou
from mplug_registry_plugins.metrics.retrieval import itm_eval
from mplug_registry_plugins.metrics.vqa import normalize_answer, vqa_accuracy


def evaluate(cfg, samples):
    evaluator = Evaluator(METRICS.build(cfg))
    evaluator.process([MultimodalDataSample(**s) for s in samples])
    return evaluator.evaluate(len(samples))


# ------------------------------------------------------------------------------------------- VQA
@pytest.mark.parametrize('humans, expected', [
    # 10 leave-one-out subsets of 9 humans; m of 10 humans gave the answer:
    (0, 0.0),                              # every subset: 0/3
    (1, (1 * 0 + 9 * (1 / 3)) / 10),       # 0.3: leaving the one out -> 0, else 1/3
    (2, (2 * (1 / 3) + 8 * (2 / 3)) / 10),  # 0.6
    (3, (3 * (2 / 3) + 7 * 1) / 10),       # 0.9
    (4, (4 * 1 + 6 * 1) / 10),             # 1.0: 3 of 9 already saturate
    (10, 1.0),
])
def test_vqa_soft_accuracy_is_the_leave_one_out_average(humans, expected):
    gts = ['yes'] * humans + ['no', 'maybe', 'perhaps'] * 4
    assert vqa_accuracy('yes', gts[:10]) == pytest.approx(expected, abs=1e-12)
    assert [round(vqa_accuracy('yes', ['yes'] * m + ['no'] * (10 - m)), 10)
            for m in range(5)] == [0.0, 0.3, 0.6, 0.9, 1.0]


@pytest.mark.parametrize('raw, normalised', [
    ('Two', '2'), ('the dog.', 'dog'), ('A Dog', 'dog'), ('isnt', "isn't"), ("isn't", "isn't"),
    ('1,000', '1000'),            # digit-comma-digit: every mark is deleted, not spaced
    ('red,white', 'red white'),   # a mark not touching a space becomes a space
    ('red, white', 'red white'),  # a mark touching a space is deleted
    ('3.5', '3.5'),               # a period before a digit stays
    ('yes!', 'yes'), ('None', '0'), ('ten', '10'), ('  an\tapple\n', 'apple'), ('dont', "don't"),
])
def test_vqa_answer_normalisation_follows_the_official_script(raw, normalised):
    assert normalize_answer(raw) == normalised


def test_vqa_accuracy_compares_normalised_answers():
    assert vqa_accuracy('Two', ['2'] * 10) == 1.0
    assert vqa_accuracy('the dog.', ['dog'] * 2 + ['cat'] * 8) == pytest.approx(0.6)
    assert vqa_accuracy('isnt', ["isn't"] * 3 + ['no'] * 7) == pytest.approx(0.9)
    with pytest.raises(ValueError, match='at least 2'):
        vqa_accuracy('yes', ['yes'])


def test_vqa_metric_reports_overall_and_per_answer_type_through_evaluator():
    samples = [
        dict(question_id=1, pred_answer='Yes', gt_answers=['yes'] * 10, answer_type='yes/no'),
        dict(question_id=2, pred_answer='no', gt_answers=['yes'] * 9 + ['no'],
             answer_type='yes/no'),
        dict(question_id=3, pred_answer='two', gt_answers=['2'] * 2 + ['3'] * 8,
             answer_type='number'),
        dict(question_id=4, pred_answer='a red car', gt_answers=['red car'] * 3 + ['car'] * 7,
             answer_type='other'),
    ]
    out = evaluate(dict(type='VQAAccuracy'), samples)
    assert out['vqa/accuracy'] == pytest.approx((1.0 + 0.3 + 0.6 + 0.9) / 4)
    assert out['vqa/accuracy_yes_no'] == pytest.approx((1.0 + 0.3) / 2)
    assert out['vqa/accuracy_number'] == pytest.approx(0.6)
    assert out['vqa/accuracy_other'] == pytest.approx(0.9)
    assert not any(k.startswith('vqa/qtype_') for k in out)                # off by default


def test_vqa_metric_reports_per_question_type_when_asked():
    samples = [
        dict(pred_answer='red', gt_answers=['red'] * 10, question_type='what color is the'),
        dict(pred_answer='blue', gt_answers=['red'] * 10, question_type='what color is the'),
        dict(pred_answer='2', gt_answers=['two'] * 2 + ['3'] * 8, question_type='how many'),
        dict(pred_answer='yes', gt_answers=['yes'] * 10),                  # no type: overall only
    ]
    out = evaluate(dict(type='VQAAccuracy', by_question_type=True), samples)
    assert out['vqa/accuracy'] == pytest.approx((1.0 + 0.0 + 0.6 + 1.0) / 4)
    assert out['vqa/qtype_what_color_is_the'] == pytest.approx(0.5)
    assert out['vqa/qtype_how_many'] == pytest.approx(0.6)
    assert sorted(k for k in out if k.startswith('vqa/qtype_')) == [
        'vqa/qtype_how_many', 'vqa/qtype_what_color_is_the']


def test_vqa_metric_names_the_missing_field():
    with pytest.raises(ValueError, match="needs data samples with 'pred_answer'"):
        evaluate(dict(type='VQAAccuracy'), [dict(gt_answers=['yes'] * 10)])


# ------------------------------------------------------------------------------------- retrieval
# 3 images, 5 texts; image 0 has texts 0, 1; image 1 has text 2; image 2 has texts 3, 4
IMG2TXT = [[0, 1], [2], [3, 4]]
TXT2IMG = [0, 0, 1, 2, 2]
SCORES_I2T = torch.tensor([
    [0.1, 0.9, 0.8, 0.3, 0.2],  # best positive 0.9 (text 1): nothing above -> rank 0
    [0.7, 0.6, 0.5, 0.9, 0.1],  # positive 0.5: 0.7, 0.6, 0.9 above -> rank 3
    [0.9, 0.2, 0.8, 0.1, 0.3],  # best positive 0.3 (text 4): 0.9, 0.8 above -> rank 2
])
SCORES_T2I = torch.tensor([
    [0.5, 0.6, 0.1],  # text 0 -> image 0 (0.5): 0.6 above -> rank 1
    [0.9, 0.1, 0.2],  # rank 0
    [0.3, 0.2, 0.4],  # text 2 -> image 1 (0.2): rank 2
    [0.1, 0.2, 0.3],  # rank 0
    [0.8, 0.7, 0.7],  # text 4 -> image 2 (0.7): 0.8 above and a 0.7 tie (counted against) -> 2
])
# txt ranks [0, 3, 2]; img ranks [1, 0, 2, 0, 2]
EXPECTED_123 = dict(txt_r1=1 / 3, txt_r2=1 / 3, txt_r3=2 / 3, txt_r_mean=4 / 9,
                    img_r1=2 / 5, img_r2=3 / 5, img_r3=1.0, img_r_mean=2 / 3, r_mean=5 / 9)


def test_recall_at_k_matches_hand_computed_ranks_in_both_directions():
    out = itm_eval(SCORES_I2T, SCORES_T2I, IMG2TXT, TXT2IMG, topk=(1, 2, 3))
    assert out == pytest.approx(EXPECTED_123)
    default = itm_eval(SCORES_I2T, SCORES_T2I, IMG2TXT, TXT2IMG)
    assert set(default) == {'txt_r1', 'txt_r5', 'txt_r10', 'txt_r_mean', 'img_r1', 'img_r5',
                            'img_r10', 'img_r_mean', 'r_mean'}
    assert default['txt_r5'] == default['img_r10'] == 1.0  # 5 texts / 3 images: all within 5


def test_retrieval_metric_assembles_per_image_rows_in_any_order():
    samples = [dict(image_id=100 + i, pred_scores=SCORES_I2T[i], pred_scores_t2i=SCORES_T2I[:, i],
                    img2txt=IMG2TXT[i]) for i in range(3)]
    random.Random(0).shuffle(samples)
    out = evaluate(dict(type='RetrievalRecall', topk=(1, 2, 3)), samples)
    assert out == pytest.approx({f'retrieval/{k}': v for k, v in EXPECTED_123.items()})


def test_retrieval_metric_also_reports_the_itc_stage_when_samples_carry_it():
    # re-ranked scores = the hand-computed matrices; the ITC rows rank every text of an image
    # first (text t of image i gets 10 - t, the others 0): all recalls 1.0 for ITC alone
    itc = torch.zeros(3, 5)
    for i, texts in enumerate(IMG2TXT):
        for t in texts:
            itc[i, t] = 10.0 - t
    samples = [dict(pred_scores=SCORES_I2T[i], pred_scores_t2i=SCORES_T2I[:, i],
                    img2txt=IMG2TXT[i], pred_scores_itc=itc[i]) for i in range(3)]
    out = evaluate(dict(type='RetrievalRecall', topk=(1, 2, 3)), samples)
    assert {k: v for k, v in out.items() if '/itc_' not in k} == pytest.approx(
        {f'retrieval/{k}': v for k, v in EXPECTED_123.items()})
    assert {k: v for k, v in out.items() if '/itc_' in k} == pytest.approx(
        {f'retrieval/itc_{k}': 1.0 for k in EXPECTED_123})
    samples[0].pop('pred_scores_itc')             # not on every sample: no itc_ keys
    assert not any('itc_' in k for k in evaluate(dict(type='RetrievalRecall', topk=(1, 2, 3)),
                                                 samples))


def test_retrieval_metric_without_t2i_column_ranks_images_by_the_same_scores():
    samples = [dict(pred_scores=SCORES_I2T[i], img2txt=IMG2TXT[i]) for i in range(3)]
    out = evaluate(dict(type='RetrievalRecall', topk=(1, 2, 3)), samples)
    # text -> image on the columns of SCORES_I2T: text 0 (image 0: 0.1 < 0.7, 0.9) rank 2;
    # text 1 (0.9) rank 0; text 2 (image 1: 0.5 < 0.8, 0.8) rank 2; text 3 (image 2: 0.1) rank 2;
    # text 4 (image 2: 0.3) rank 0
    assert out['retrieval/img_r1'] == out['retrieval/img_r2'] == pytest.approx(2 / 5)
    assert out['retrieval/img_r3'] == pytest.approx(1.0)
    assert out['retrieval/txt_r1'] == pytest.approx(1 / 3)


def test_retrieval_metric_rejects_a_text_under_two_images():
    samples = [dict(pred_scores=SCORES_I2T[i], img2txt=[0, 1] if i < 2 else [2, 3, 4])
               for i in range(3)]
    with pytest.raises(ValueError, match='text 0 is listed under two images'):
        evaluate(dict(type='RetrievalRecall'), samples)


# ------------------------------------------------------------------------------------- grounding
BOXES = [  # (pred, gt, IoU by hand)
    ([10, 10, 50, 50], [10, 10, 50, 50], 1.0),    # identical
    ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),      # disjoint
    ([0, 0, 10, 10], [0, 0, 10, 20], 0.5),        # 100 / (100 + 200 - 100): exactly the threshold
    ([0, 0, 10, 10], [5, 0, 15, 10], 1 / 3),      # 50 / (100 + 100 - 50)
    ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),       # touching edges
]


def test_paired_box_iou_on_hand_computed_boxes():
    pred = torch.tensor([b[0] for b in BOXES], dtype=torch.float64)
    gt = torch.tensor([b[1] for b in BOXES], dtype=torch.float64)
    assert paired_box_iou(pred, gt).tolist() == pytest.approx([b[2] for b in BOXES])


@pytest.mark.parametrize('iou_thr, accuracy', [(0.5, 2 / 5), (0.3, 3 / 5), (1.0, 1 / 5)])
def test_grounding_accuracy_counts_iou_at_least_threshold_through_evaluator(iou_thr, accuracy):
    samples = [dict(pred_bboxes=torch.tensor([p], dtype=torch.float32),
                    gt_bboxes=torch.tensor([g], dtype=torch.float32)) for p, g, _ in BOXES]
    out = evaluate(dict(type='GroundingAccuracy', iou_thr=iou_thr), samples)
    assert out['grounding/accuracy'] == pytest.approx(accuracy)
    assert out['grounding/mean_iou'] == pytest.approx((1 + 0 + 0.5 + 1 / 3 + 0) / 5)


def test_bad_metric_arguments_are_config_errors():
    with pytest.raises(ConfigError, match='iou_thr must be a number'):
        check_arguments(METRICS.get('GroundingAccuracy'), {'iou_thr': 1.5}, 'val_evaluator')
    with pytest.raises(ConfigError, match='topk must be positive'):
        check_arguments(METRICS.get('RetrievalRecall'), {'topk': (1, 0)}, 'val_evaluator')
    with pytest.raises(ConfigError, match="did you mean 'CIDEr'"):
        check_arguments(METRICS.get('CaptionMetrics'), {'metrics': ('BLEU', 'Cider')},
                        'val_evaluator')


# --------------------------------------------------------------------------------------- caption
CAPTION_GTS = {
    'same': ['a man is riding a red bicycle down the street'] * 2,
    'disjoint': ['a cat sleeps on a sofa', 'the cat is sleeping on the couch'],
    'partial': ['a dog sleeps on grass'],
}
CAPTION_RES = {'same': 'A man is riding a red bicycle down the street.',
               'disjoint': 'purple elephants dancing quietly', 'partial': 'a dog runs'}
needs_java = pytest.mark.skipif(caption.java_missing_reason() is not None,
                                reason='the caption metrics need Java')


@pytest.fixture(scope='module')
def caption_scores():
    """One tokenizer run and one METEOR process for the whole module."""
    corpus, per_image = caption.coco_caption_scores(
        CAPTION_GTS, CAPTION_RES, metrics=('BLEU', 'METEOR', 'ROUGE_L', 'CIDEr'))
    return corpus, {k: dict(zip(CAPTION_GTS, v)) for k, v in per_image.items()}


@needs_java
def test_caption_identical_to_references_scores_full_marks(caption_scores):
    per = caption_scores[1]
    # tf-idf vectors equal the references' (cosine 1 for n = 1..4), times CIDEr's factor 10
    assert per['CIDEr']['same'] == pytest.approx(10.0)
    # the PTB tokenizer lower-cases and drops the period: an exact match of 10 tokens
    assert per['Bleu_4']['same'] == pytest.approx(1.0, abs=1e-6)
    assert per['ROUGE_L']['same'] == pytest.approx(1.0)
    assert per['METEOR']['same'] > 0.99


@needs_java
def test_caption_sharing_no_words_scores_zero(caption_scores):
    per = caption_scores[1]
    for key in ('CIDEr', 'ROUGE_L', 'METEOR', 'Bleu_1', 'Bleu_4'):
        assert per[key]['disjoint'] == pytest.approx(0.0, abs=1e-9), key


@needs_java
def test_caption_bleu1_matches_hand_computation(caption_scores):
    # "a dog runs" vs "a dog sleeps on grass": unigram precision 2/3, brevity exp(1 - 5/3)
    assert caption_scores[1]['Bleu_1']['partial'] == pytest.approx(2 / 3 * math.exp(1 - 5 / 3),
                                                                   rel=1e-6)


@needs_java
def test_caption_metric_through_evaluator_equals_the_pure_function(caption_scores):
    samples = [dict(image_id=i, gt_caption=CAPTION_GTS[k], pred_caption=CAPTION_RES[k])
               for i, k in enumerate(CAPTION_GTS)]
    out = evaluate(dict(type='CaptionMetrics', metrics=('BLEU', 'ROUGE_L', 'CIDEr')), samples)
    corpus = caption_scores[0]
    assert set(out) == {f'caption/{k}' for k in ('Bleu_1', 'Bleu_2', 'Bleu_3', 'Bleu_4',
                                                   'ROUGE_L', 'CIDEr')}
    for key, value in out.items():
        assert value == pytest.approx(corpus[key.split('/')[1]]), key
    # corpus CIDEr-D is the mean of the per-image scores
    assert out['caption/CIDEr'] == pytest.approx(sum(caption_scores[1]['CIDEr'].values()) / 3)


def test_caption_metric_without_java_fails_with_one_line(monkeypatch):
    monkeypatch.setattr(caption.shutil, 'which', lambda name: None)
    with pytest.raises(RuntimeError) as err:
        METRICS.build(dict(type='CaptionMetrics'))
    assert "'java' executable is not on PATH" in str(err.value) and '\n' not in str(err.value)


@needs_java
def test_caption_metric_skips_spice_when_it_cannot_run_offline():
    reason = caption.spice_unavailable_reason()
    if reason is None:
        pytest.skip('the SPICE jars are installed here')
    assert 'stanford-corenlp-3.6.0' in reason
    metric = METRICS.build(dict(type='CaptionMetrics', metrics=('CIDEr', 'SPICE')))
    assert metric.metrics == ('CIDEr', )


@needs_java
def test_caption_metric_rejects_two_samples_of_one_image():
    metric = METRICS.build(dict(type='CaptionMetrics', metrics=('CIDEr', )))
    with pytest.raises(ValueError, match='image_id 7 appears in two data samples'):
        metric.compute_metrics([(7, 'a cat', ['a cat']), (7, 'a dog', ['a dog'])])
