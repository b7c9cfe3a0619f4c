"""MoMETransformer (VL-BEiT §2): three input modes, hard routing to experts, shared attention."""
import pytest
import torch

from mplug_registry.builder import build_component
from mplug_registry.errors import ConfigError
from mplug_registry.structures import MultimodalDataSample
from mplug_registry_plugins.encoders.mome import MoMETransformer
from mplug_registry_plugins.layers import Attention

TINY = dict(arch='tiny', dims=32, layers=3, heads=2, num_vl_layers=1, patch_size=8,
            image_size=16, vocab_size=50, max_text_len=16, drop_path_rate=0.0)
B, M, N = 2, 6, 4                     # batch, text tokens, image patches (16 px / 8 px = 2 x 2)


def build(**kw):
    torch.manual_seed(0)
    return MoMETransformer(**dict(TINY, **kw)).eval()


def inputs():
    torch.manual_seed(1)
    images = torch.randn(B, 3, 16, 16)
    ids = torch.randint(1, 50, (B, M))
    return images, ids, torch.ones(B, M, dtype=torch.long)


def run_all(model):
    images, ids, mask = inputs()
    with torch.no_grad():
        return (model(images), model(input_ids=ids, attention_mask=mask),
                model(images, ids, mask))


def test_three_modes_give_the_documented_shapes():
    model = build()
    images, ids, mask = inputs()
    image, text, pair = run_all(model)
    assert image.tokens.shape == (B, 1 + N, 32) and image.mask is None
    assert text.tokens.shape == (B, M, 32) and torch.equal(text.mask, mask)
    assert pair.tokens.shape == (B, M + 1 + N, 32)
    assert pair.mask.tolist() == [[1] * (M + 1 + N)] * B
    for feats in (image, text, pair):
        assert torch.equal(feats.pooled, feats.tokens[:, 0])   # [I_CLS] / [T_CLS] / [T_CLS]
    assert model.out_dims == {'vision': 32, 'text': 32}
    # larger images interpolate the position embedding: 24 px -> 3 x 3 patches
    assert model(torch.randn(1, 3, 24, 24)).tokens.shape == (1, 10, 32)


def test_each_expert_receives_exactly_its_modality_tokens():
    model = build()
    assert [b.vl_ffn is not None for b in model.blocks] == [False, False, True]
    assert model.vl_start == 2
    seen = []
    for i, block in enumerate(model.blocks):
        for name in ('v_ffn', 'l_ffn', 'vl_ffn'):
            expert = getattr(block, name)
            if expert is not None:
                expert.register_forward_hook(
                    lambda mod, args, out, key=(i, name): seen.append((key, args[0].shape[1])))

    def routes(**kw):
        seen.clear()
        with torch.no_grad():
            model(**kw)
        return sorted(seen)

    images, ids, mask = inputs()
    assert routes(images=images) == [((i, 'v_ffn'), 1 + N) for i in range(3)]
    assert routes(input_ids=ids, attention_mask=mask) == [((i, 'l_ffn'), M) for i in range(3)]
    # pair: bottom blocks split by modality, the top block sends every token to VL-FFN
    assert routes(images=images, input_ids=ids, attention_mask=mask) == [
        ((0, 'l_ffn'), M), ((0, 'v_ffn'), 1 + N), ((1, 'l_ffn'), M), ((1, 'v_ffn'), 1 + N),
        ((2, 'vl_ffn'), M + 1 + N)]


def zero_experts(model, name, blocks=None):
    with torch.no_grad():
        for i, block in enumerate(model.blocks):
            expert = getattr(block, name)
            if expert is not None and (blocks is None or i in blocks):
                for p in expert.parameters():
                    p.zero_()


def changed(before, after):
    return [(a.tokens - b.tokens).abs().max().item() > 1e-4 for b, a in zip(before, after)]


def test_zeroing_an_expert_changes_only_the_modes_that_route_to_it():
    model = build()
    ref = run_all(model)
    cases = [  # (expert, blocks) -> (image changed, text changed, pair changed)
        (('v_ffn', None), [True, False, True]),
        (('l_ffn', None), [False, True, True]),
        (('vl_ffn', None), [False, False, True]),
        (('v_ffn', {2}), [True, False, False]),   # the top block serves pairs with VL-FFN
        (('l_ffn', {2}), [False, True, False]),
    ]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for (name, blocks), expected in cases:
        model.load_state_dict(state)
        zero_experts(model, name, blocks)
        assert changed(ref, run_all(model)) == expected, (name, blocks)


def test_self_attention_is_one_set_of_parameters_for_all_modalities():
    model = build()
    attns = [m for m in model.modules() if isinstance(m, Attention)]
    assert len(attns) == 3 and all(a is b.attn for a, b in zip(attns, model.blocks))
    q = model.blocks[0].attn.q.weight
    images, ids, mask = inputs()
    grads, probe = [], torch.randn(32)
    for kw in (dict(images=images), dict(input_ids=ids, attention_mask=mask),
               dict(images=images, input_ids=ids, attention_mask=mask)):
        model.zero_grad()
        (model(**kw).pooled @ probe).sum().backward()
        grads.append(q.grad.clone())
    assert all(g.abs().sum() > 0 for g in grads)
    assert not torch.allclose(grads[0], grads[1])          # each modality trains the same tensor


def test_padding_in_the_text_does_not_change_other_pair_tokens():
    model = build()
    images, ids, _ = inputs()
    padded = torch.cat([ids, torch.zeros(B, 3, dtype=torch.long)], dim=1)      # [B, M+3]
    mask = torch.cat([torch.ones(B, M), torch.zeros(B, 3)], dim=1).long()
    with torch.no_grad():
        plain = model(images, ids, torch.ones(B, M, dtype=torch.long)).tokens
        pad = model(images, padded, mask)
        other_pad = model(images, padded + 7 * (1 - mask), mask).tokens
    assert pad.mask[:, M:M + 3].sum() == 0 and pad.mask[:, M + 3:].all()
    keep = torch.cat([pad.tokens[:, :M], pad.tokens[:, M + 3:]], dim=1)
    torch.testing.assert_close(keep, plain, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(other_pad[:, :M], plain[:, :M], atol=1e-5, rtol=1e-5)


def test_with_cp_gives_identical_loss_and_grads():
    images, ids, mask = inputs()
    mask[1, -2:] = 0
    results = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = MoMETransformer(**dict(TINY, drop_path_rate=0.2, with_cp=with_cp)).train()
        torch.manual_seed(3)                           # stochastic depth on: RNG must be replayed
        loss = sum(model(**kw).tokens.pow(2).mean() for kw in (
            dict(images=images), dict(input_ids=ids, attention_mask=mask),
            dict(images=images, input_ids=ids, attention_mask=mask)))
        loss.backward()
        results.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.equal(loss_a, loss_b)
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=0, rtol=0)


def test_fills_the_vision_slot_of_a_composed_model_and_serves_text_through_it():
    model = build_component(dict(
        type='ComposedModel', vision_encoder=dict(type='MoMETransformer', **TINY),
        heads=dict(cls=dict(type='ClassificationHead', num_classes=3, in_dims=32))),
        'model', 'task')
    images = torch.randint(0, 255, (B, 3, 16, 16), dtype=torch.uint8)
    samples = [MultimodalDataSample(gt_label=torch.tensor(i)) for i in range(B)]
    data = model.data_preprocessor(dict(inputs=list(images), data_samples=samples))
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['cls.loss_cls']) and losses['cls.loss_cls'] > 0
    assert model(**data, mode='tensor')['vision'].shape == (B, 1 + N, 32)
    _, ids, mask = inputs()
    text = model.vision_encoder(input_ids=ids, attention_mask=mask)    # same weights, text mode
    assert text.tokens.shape == (B, M, 32)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match='num_vl_layers=4 must be between 0 and layers=3'):
        MoMETransformer(**dict(TINY, num_vl_layers=4))
    with pytest.raises(ConfigError, match="^model.vision_encoder: MoMETransformer: unknown arch"):
        build_component(dict(type='MoMETransformer', arch='huge'), 'model.vision_encoder',
                        'encoder')
    model = build()
    with pytest.raises(ValueError, match='needs images, input_ids or both'):
        model()
    with pytest.raises(ValueError, match=r'encodes images \[B, 3, H, W\]'):
        model(torch.randn(1, 2, 3, 16, 16))
    with pytest.raises(ValueError, match='longer than max_text_len=16'):
        model(input_ids=torch.ones(1, 17, dtype=torch.long))
