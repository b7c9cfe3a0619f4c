"""Fusion modules: Algorithm 1's schedule, untouched vision in asymmetric layers, padding, shapes,
checkpointing and composition."""
import inspect
import math

import pytest
import torch

import mplug_registry_plugins.layers.checkpoint as cp_module
from mplug_registry.builder import build_component
from mplug_registry.errors import ConfigError, DimensionMismatchError
from mplug_registry.registry import MODELS
from mplug_registry.structures import FeatureBundle, Features

FUSIONS = ('CrossAttentionFusion', 'SkipConnectedFusion', 'ConnectedAttentionFusion',
           'CoAttentionFusion')
TINY = dict(embed_dims=32, num_heads=2)
B, NV, NT = 2, 6, 5


def algorithm_1(T, S):
    """mPLUG Algorithm 1, transcribed: which layer function runs at each of the T layers."""
    calls = []

    def connected_layer(img, txt):
        calls.append('connected')
        return img, txt

    def cross_layer(img, txt):
        calls.append('asym')
        return img, txt

    img, txt = None, None
    for i in range(1, T + 1):
        encoder = connected_layer if (i % (S + 1) == 0) else cross_layer
        img, txt = encoder(img, txt)
    return calls


def build(type_, **kwargs):
    return MODELS.build(dict(type=type_, **dict(TINY, **kwargs)))


def inputs(vision_dims=32, text_mask=None, vision_mask=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    vision = Features(tokens=torch.randn(B, NV, vision_dims, generator=g), mask=vision_mask)
    text = Features(tokens=torch.randn(B, NT, 32, generator=g), mask=text_mask)
    return vision, text


@pytest.mark.parametrize('layers,stride', [(6, 3), (6, 1), (6, 2), (6, 5), (6, 6), (12, 2),
                                           (7, 3), (4, 0), (1, 0), (3, 10)])
def test_skip_connected_schedule_matches_algorithm_1(layers, stride):
    model = build('SkipConnectedFusion', num_layers=layers, stride=stride)
    assert list(model.schedule) == algorithm_1(layers, stride)
    # the built layers follow the schedule: connected layers have no cross-attention
    assert [hasattr(layer, 'cross') for layer in model.layers] == \
        [kind == 'asym' for kind in algorithm_1(layers, stride)]


def test_paper_defaults():
    params = {name: inspect.signature(MODELS.get(name)).parameters for name in FUSIONS}
    for name, p in params.items():
        assert (p['embed_dims'].default, p['num_heads'].default, p['num_layers'].default,
                p['mlp_ratio'].default, p['with_cp'].default) == (768, 12, 6, 4.0, False), name
    assert params['SkipConnectedFusion']['stride'].default == 3   # mPLUG ViT-B (§5.3.1)
    assert algorithm_1(6, 3) == ['asym', 'asym', 'asym', 'connected', 'asym', 'asym']
    assert build('ConnectedAttentionFusion', num_layers=3).schedule == ('connected', ) * 3


def test_asymmetric_layers_leave_vision_untouched():
    torch.manual_seed(0)
    full = build('SkipConnectedFusion', num_layers=4, stride=2)        # asym asym connected asym
    assert full.schedule == ('asym', 'asym', 'connected', 'asym')
    upto_connected = build('SkipConnectedFusion', num_layers=3, stride=2)
    only_asym = build('SkipConnectedFusion', num_layers=2, stride=2)
    for model in (upto_connected, only_asym):                          # same first layers
        model.load_state_dict(full.state_dict(), strict=False)
    vision, text = inputs(text_mask=torch.tensor([[1, 1, 1, 0, 0], [1] * 5]))
    with torch.no_grad():
        out_full, out_conn, out_asym = (m(vision, text).tokens for m in
                                        (full, upto_connected, only_asym))
    # two asymmetric layers: vision is the input, bit for bit; text has changed
    assert torch.equal(out_asym[:, :NV], vision.tokens)
    assert (out_asym[:, NV:] - text.tokens).abs().max() > 1e-2
    # the connected layer changes vision; the asymmetric layer after it does not
    assert (out_conn[:, :NV] - vision.tokens).abs().max() > 1e-2
    assert torch.equal(out_full[:, :NV], out_conn[:, :NV])
    assert (out_full[:, NV:] - out_conn[:, NV:]).abs().max() > 1e-2


@pytest.mark.parametrize('type_', FUSIONS)
def test_padding_is_respected(type_):
    torch.manual_seed(0)
    model = build(type_, num_layers=3, stride=1) if type_ == 'SkipConnectedFusion' \
        else build(type_, num_layers=2)
    model.eval()
    text_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    vision_mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    vision, text = inputs(text_mask=text_mask, vision_mask=vision_mask)
    noisy_v = vision.tokens.masked_fill(~vision_mask.bool()[..., None], 7.0)
    noisy_t = text.tokens.masked_fill(~text_mask.bool()[..., None], -5.0)
    with torch.no_grad():
        ref = model(vision, text)
        out = model(Features(noisy_v, vision_mask), Features(noisy_t, text_mask))
        # control: the same change is visible when the masks are dropped
        unmasked = model(Features(noisy_v), Features(noisy_t))
    keep = ref.mask.bool()                                             # [B, N]
    assert ref.tokens.shape[:2] == keep.shape
    assert torch.allclose(out.tokens[keep], ref.tokens[keep], atol=1e-5)
    assert torch.allclose(out.pooled, ref.pooled, atol=1e-5)
    assert (unmasked.tokens[keep] - ref.tokens[keep]).abs().max() > 1e-3


@pytest.mark.parametrize('type_', FUSIONS)
def test_builds_from_registry_with_documented_shapes(type_):
    torch.manual_seed(0)
    model = build(type_, vision_dims=48, num_layers=2)
    assert model.in_dims == {'vision': 48, 'text': 32} and model.out_dims == {'fused': 32}
    text_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    vision, text = inputs(vision_dims=48, text_mask=text_mask)
    out = model(vision, text)
    if type_ == 'CrossAttentionFusion':                                # text side only
        assert out.tokens.shape == (B, NT, 32)
        assert torch.equal(out.mask, text_mask)
        assert torch.equal(out.pooled, out.tokens[:, 0])
        assert model.layers[0].cross.attn.kv.in_features == 48         # kv_dims, no resize
    else:                                                              # [vision; text]
        assert out.tokens.shape == (B, NV + NT, 32)
        assert torch.equal(out.mask, torch.cat([torch.ones(B, NV, dtype=torch.long),
                                                text_mask], 1))
        assert torch.equal(out.pooled, out.tokens[:, NV])
        assert isinstance(model.vision_proj, torch.nn.Linear)
        assert model.vision_proj.in_features == 48
    assert out.pooled.shape == (B, 32)
    assert torch.isfinite(out.tokens).all()
    # no masks at all: output mask None (all valid)
    assert model(*inputs(vision_dims=48)).mask is None
    with pytest.raises(ValueError, match='expects vision features of size 48, got 32'):
        model(*inputs(vision_dims=32))


@pytest.mark.parametrize('bad,msg', [
    (dict(type='SkipConnectedFusion', stride=-1), 'stride must be an integer >= 0, got -1'),
    (dict(type='CoAttentionFusion', num_heads=5), 'embed_dims=32 is not divisible by '
                                                  'num_heads=5'),
    (dict(type='CrossAttentionFusion', num_layers=0), 'num_layers must be a positive integer'),
])
def test_bad_arguments_are_one_line_config_errors(bad, msg):
    cfg = dict(dict(embed_dims=32, num_heads=2), **bad)
    with pytest.raises(ConfigError) as err:
        build_component(cfg, 'model.fusion', 'fusion')
    assert str(err.value).startswith(f"model.fusion: {bad['type']}: {msg}")
    assert '\n' not in str(err.value)


@pytest.mark.parametrize('type_', FUSIONS)
def test_with_cp_gives_same_loss_and_gradients(type_, monkeypatch):
    calls = []
    real = cp_module.checkpoint
    monkeypatch.setattr(cp_module, 'checkpoint',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    kwargs = dict(num_layers=3, dropout=0.1, vision_dims=48)
    if type_ == 'SkipConnectedFusion':
        kwargs['stride'] = 1                                           # asym connected asym
    torch.manual_seed(0)
    plain = build(type_, **kwargs)
    ckpt = build(type_, with_cp=True, **kwargs)
    ckpt.load_state_dict(plain.state_dict())
    text_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    results = []
    for model in (plain, ckpt):
        model.train()
        vision, text = inputs(vision_dims=48, text_mask=text_mask)
        vision.tokens.requires_grad_(True)
        text.tokens.requires_grad_(True)
        torch.manual_seed(1)                                           # same dropout masks
        out = model(vision, text)
        keep = (out.mask if out.mask is not None else torch.ones(out.tokens.shape[:2])).bool()
        loss = out.tokens[keep].pow(2).mean() + out.pooled.sin().sum()
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        results.append((loss.detach(), grads, vision.tokens.grad, text.tokens.grad))
    assert len(calls) == 3                                             # one per layer, cp only
    (loss_a, grads_a, gv_a, gt_a), (loss_b, grads_b, gv_b, gt_b) = results
    assert torch.allclose(loss_a, loss_b, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads_a, grads_b))
    assert torch.allclose(gv_a, gv_b, atol=1e-6) and torch.allclose(gt_a, gt_b, atol=1e-6)
    assert gv_a.abs().sum() > 0 and gt_a.abs().sum() > 0


VISION = dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=8, layers=1,
              width=64, heads=2)


@pytest.mark.parametrize('type_', FUSIONS)
def test_composes_in_composed_model(type_):
    torch.manual_seed(0)
    fusion = dict(type=type_, embed_dims=32, vision_dims=64, num_heads=2, num_layers=2)
    head = dict(type='ClassificationHead', num_classes=3, in_dims=32, stream='fused')
    model = build_component(dict(type='ComposedModel', vision_encoder=VISION, fusion=fusion,
                                 heads=dict(cls=head)), 'model', 'task')
    assert type(model.fusion).__name__ == type_
    assert ('fusion', type_, 'fusion') in [r[:3] for r in model.composition()]
    # no text encoder yet: random text features stand in for it
    vision = model.vision_encoder(torch.randn(B, 3, 32, 32))            # [B, 17, 64]
    text = Features(tokens=torch.randn(B, NT, 32), mask=torch.ones(B, NT, dtype=torch.long))
    fused = model.fusion(vision, text)
    logits = model.heads['cls'](FeatureBundle(vision=vision, text=text, fused=fused))
    assert logits.shape == (B, 3) and torch.isfinite(logits).all()
    with pytest.raises(DimensionMismatchError, match='model.fusion expects vision features of '
                       'size 48, but model.vision_encoder produces 64'):
        build_component(dict(type='ComposedModel', vision_encoder=VISION,
                             fusion=dict(fusion, vision_dims=48), heads=dict(cls=head)),
                        'model', 'task')


def test_attention_log_weights_are_the_softmax_that_forward_applies():
    from mplug_registry_plugins.layers.attention import Attention
    torch.manual_seed(0)
    attn = Attention(16, 4, kv_dims=8).eval()
    x, ctx = torch.randn(2, 3, 16), torch.randn(2, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    logw = attn.log_weights(x, ctx, mask)                                    # [2, 4, 3, 5]
    assert torch.allclose(logw.exp().sum(-1), torch.ones(2, 4, 3))
    assert (logw[0, ..., 4] == float('-inf')).all()                          # padded key
    v = attn._heads(attn.kv(ctx).chunk(2, dim=-1)[1])                        # [2, 4, 5, 4]
    by_hand = attn.proj((logw.exp() @ v).transpose(1, 2).flatten(2))
    assert torch.allclose(attn(x, ctx, mask=mask), by_hand, atol=1e-6)


def test_cross_attention_fusion_keeps_its_last_attention_on_request():
    from mplug_registry.structures import Features
    from mplug_registry_plugins.fusion.cross_attention import CrossAttentionFusion
    torch.manual_seed(0)
    fusion = CrossAttentionFusion(embed_dims=16, num_heads=2, num_layers=2).eval()
    vision = Features(tokens=torch.randn(2, 5, 16))
    text = Features(tokens=torch.randn(2, 3, 16), mask=torch.ones(2, 3, dtype=torch.long))
    plain = fusion(vision, text)
    assert plain.attention is None
    fusion.keep_attention = True
    kept = fusion(vision, text)
    assert torch.equal(kept.tokens, plain.tokens)                            # same computation
    assert kept.attention.shape == (2, 2, 3, 5)
    assert torch.allclose(kept.attention.exp().sum(-1), torch.ones(2, 2, 3))


def test_grid_sincos_codes():
    from mplug_registry_plugins.layers import grid_sincos
    codes = grid_sincos((2, 3, 4), 16)                                 # [1 + 2*3*4, 16]
    assert codes.shape == (25, 16)
    assert torch.equal(codes[0], torch.zeros(16))                      # the CLS token
    assert torch.equal(codes[1:13], codes[13:])                        # same code every frame
    grid = codes[1:13].view(3, 4, 16)
    ys, xs = grid[..., :8], grid[..., 8:]
    assert torch.equal(ys[:, 0], ys[:, 3]) and torch.equal(xs[0], xs[2])   # y rows, x columns
    assert len({tuple(c.tolist()) for c in codes[1:13]}) == 12         # every place distinct
    # the lowest frequency is a quarter period across the image: sin rises, cos falls, monotonic
    assert (xs[0, 1:, 0] > xs[0, :-1, 0]).all() and (xs[0, 1:, 4] < xs[0, :-1, 4]).all()
    # u = (i + 0.5) / n: by hand for the first column of a 4-wide grid
    assert torch.allclose(xs[0, 0, 0], torch.tensor(math.sin(math.pi / 2 * 0.125)))
    with pytest.raises(ValueError, match='divisible by 4, got 10'):
        grid_sincos((1, 2, 2), 10)


@pytest.mark.parametrize('type_', FUSIONS)
def test_vision_pos_adds_grid_codes_to_the_visual_tokens(type_):
    from mplug_registry_plugins.layers import grid_sincos
    torch.manual_seed(0)
    fusion = build(type_, num_layers=1).eval()
    with_pos = build(type_, num_layers=1, vision_pos='sincos').eval()
    with_pos.load_state_dict(fusion.state_dict())                      # no new parameters
    vision, text = inputs()                                            # NV = 6 = 1 + 1*1*5
    vision.grid = (1, 1, 5)
    moved = Features(tokens=vision.tokens + grid_sincos(vision.grid, 32), grid=vision.grid)
    assert torch.allclose(with_pos(vision, text).tokens, fusion(moved, text).tokens, atol=1e-6)
    assert not torch.allclose(with_pos(vision, text).tokens, fusion(vision, text).tokens)
    vision.grid = None
    with pytest.raises(ValueError, match=r"vision_pos='sincos'\) needs the patch grid"):
        with_pos(vision, text)
    vision.grid = (1, 2, 2)
    with pytest.raises(ValueError, match=r'6 visual tokens do not match their grid \(1, 2, 2\)'):
        with_pos(vision, text)
    with pytest.raises(ValueError, match="vision_pos must be one of"):
        build(type_, vision_pos='learned')


def test_vision_grid_survives_the_universal_layers():
    torch.manual_seed(0)
    encoder = MODELS.build(VISION)
    universal = MODELS.build(dict(type='UniversalLayers', embed_dims=32, vision_dims=64,
                                  num_latents=4, num_layers=1, num_heads=2))
    vision = encoder(torch.randn(B, 3, 32, 32))
    assert vision.grid == (1, 4, 4)
    assert encoder(torch.randn(B, 2, 3, 32, 48)).grid == (2, 4, 6)     # video, other size
    text = Features(tokens=torch.randn(B, NT, 32), mask=torch.ones(B, NT, dtype=torch.long))
    out_v, _ = universal(vision, text)
    assert out_v.grid == (1, 4, 4) and out_v.unimodal.grid == (1, 4, 4)
