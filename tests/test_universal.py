"""UniversalLayers (mPLUG-2 eqs. 6-10): outputs per modality, shared SA/FFN, k latents, masks."""
import pytest
import torch

from mplug_registry.structures import Features
from mplug_registry_plugins.universal.universal_layers import UniversalLayers

C, K, NV, NT, B = 32, 4, 9, 6, 2


def make(**kw):
    torch.manual_seed(0)
    args = dict(embed_dims=C, num_latents=K, num_layers=2, num_heads=2)
    args.update(kw)
    return UniversalLayers(**args)


def vision(n=NV, dims=C, seed=1, mask=None):
    gen = torch.Generator().manual_seed(seed)
    return Features(tokens=torch.randn(B, n, dims, generator=gen).requires_grad_(), mask=mask)


def text(n=NT, seed=2, pad=2):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, n, dtype=torch.long)
    mask[1, n - pad:] = 0                                # second sentence is padded
    return Features(tokens=torch.randn(B, n, C, generator=gen).requires_grad_(), mask=mask)


def grads(module):
    return {n for n, p in module.named_parameters()
            if p.grad is not None and p.grad.abs().sum() > 0}


# ----------------------------------------------------------------------------------- outputs
def test_vision_only_text_only_and_both_shapes():
    mod = make().eval()
    v, t = vision(), text()
    out_v, out_t = mod(v, None)
    assert out_t is None and out_v.tokens.shape == (B, NV, C) and out_v.mask is None
    torch.testing.assert_close(out_v.pooled, out_v.tokens[:, 0])
    out_v2, out_t2 = mod(None, t)
    assert out_v2 is None and out_t2.tokens.shape == (B, NT, C)
    assert out_t2.mask is t.mask
    torch.testing.assert_close(out_t2.pooled, out_t2.tokens[:, 0])
    both_v, both_t = mod(v, t)
    assert both_v.tokens.shape == (B, NV, C) and both_t.tokens.shape == (B, NT, C)
    # with both, each side is aware of the other (text-aware vision, vision-aware text)
    assert (both_v.tokens - out_v.tokens).abs().max() > 1e-3
    assert (both_t.tokens - out_t2.tokens).abs().max() > 1e-3
    with pytest.raises(ValueError, match='needs vision or text'):
        mod(None, None)


# ---------------------------------------------------------------------------- shared weights
def test_sa_and_ffn_are_one_set_shared_by_latents_and_text():
    mod = make()
    for layer in mod.layers:                             # no text copy of SA/FFN exists
        assert {n for n, _ in layer.named_children()} == {'attn', 'norm_sa', 'cross', 'ffn',
                                                          'norm_ffn'}
    mod(None, text())[1].tokens.square().mean().backward()
    text_grads = grads(mod)
    mod.zero_grad(set_to_none=True)
    mod(vision(), None)[0].tokens.square().mean().backward()
    vision_grads = grads(mod)
    for i in range(len(mod.layers)):
        for part in ('attn.q', 'attn.kv', 'attn.proj', 'norm_sa', 'ffn.0', 'ffn.3', 'norm_ffn'):
            shared = {n for n in text_grads if n.startswith(f'layers.{i}.{part}.')}
            assert shared and shared <= vision_grads, (i, part)
        assert not any(n.startswith(f'layers.{i}.cross.') for n in text_grads)
    assert 'latents' not in text_grads and 'latents' in vision_grads
    assert not any(n.startswith('vision_out.') for n in text_grads)


# --------------------------------------------------------------------------------- k latents
@pytest.mark.parametrize('num_latents, nv', [(3, 5), (7, 13)])
def test_num_latents_sets_memory_size(num_latents, nv):
    mod = make(num_latents=num_latents).eval()
    seen = {}

    def record(name):
        def hook(module, args):
            seen.setdefault(name, []).append((args[0].shape, args[1].shape))
        return hook

    mod.vision_out.register_forward_pre_hook(record('vision_out'))
    mod.text_out.register_forward_pre_hook(record('text_out'))
    mod.layers[0].cross.register_forward_pre_hook(record('layer_cross'))
    out_v, out_t = mod(vision(nv), text())
    assert seen['layer_cross'] == [((B, num_latents, C), (B, nv, C))]     # eq. (8)
    # first the cross-modal combination over [V^S; W^S], then the unimodal one over V^S / W^S
    assert seen['vision_out'] == [((B, nv, C), (B, num_latents + NT, C)),
                                  ((B, nv, C), (B, num_latents, C))]
    assert seen['text_out'] == [((B, NT, C), (B, num_latents + NT, C)), ((B, NT, C), (B, NT, C))]
    assert out_v.tokens.shape == (B, nv, C) and out_t.tokens.shape == (B, NT, C)
    assert out_v.unimodal.tokens.shape == (B, nv, C) and out_t.unimodal.tokens.shape == (B, NT, C)
    assert mod.num_latents == num_latents


def test_unimodal_outputs_do_not_depend_on_the_other_modality():
    mod = make().eval()
    v = vision()
    out_a, _ = mod(v, text())
    out_b, _ = mod(v, text(seed=3))   # another text
    assert not torch.allclose(out_a.tokens, out_b.tokens)          # text-aware visual features
    assert torch.allclose(out_a.unimodal.tokens, out_b.unimodal.tokens)
    alone, _ = mod(v, None)
    assert torch.allclose(alone.tokens, out_a.unimodal.tokens, atol=1e-6)


# ------------------------------------------------------------------------------------- masks
def test_padded_text_tokens_are_ignored():
    mod = make().eval()
    v, t = vision(), text(pad=2)
    out_v, out_t = mod(v, t)
    noisy = t.tokens.detach().clone()
    noisy[1, NT - 2:] = 100 * torch.randn(2, C)
    out_v2, out_t2 = mod(v, Features(tokens=noisy, mask=t.mask))
    torch.testing.assert_close(out_v2.tokens, out_v.tokens)
    torch.testing.assert_close(out_t2.tokens[1, :NT - 2], out_t.tokens[1, :NT - 2])
    torch.testing.assert_close(out_t2.tokens[0], out_t.tokens[0])
    # sanity: the same change without the mask does change the outputs
    out_v3, _ = mod(v, Features(tokens=noisy, mask=torch.ones_like(t.mask)))
    assert (out_v3.tokens - out_v.tokens).abs().max() > 1e-3


def test_masked_visual_tokens_are_ignored():
    mask = torch.ones(B, NV, dtype=torch.long)
    mask[0, -3:] = 0
    mod = make().eval()
    v, t = vision(mask=mask), text()
    out_v, out_t = mod(v, t)
    noisy = v.tokens.detach().clone()
    noisy[0, -3:] = 100 * torch.randn(3, C)
    out_v2, out_t2 = mod(Features(tokens=noisy, mask=mask), t)
    torch.testing.assert_close(out_t2.tokens, out_t.tokens)
    torch.testing.assert_close(out_v2.tokens[0, :-3], out_v.tokens[0, :-3])
    assert out_v2.mask is mask


# ---------------------------------------------------------------------------- checkpointing
@pytest.mark.parametrize('inputs', ['vision', 'text', 'both'])
def test_with_cp_gives_same_loss_and_grads(inputs):
    results = []
    for with_cp in (False, True):
        mod = make(with_cp=with_cp).train()
        v = vision() if inputs != 'text' else None
        t = text() if inputs != 'vision' else None
        out_v, out_t = mod(v, t)
        loss = sum(o.tokens.square().mean() for o in (out_v, out_t) if o is not None)
        loss.backward()
        leaf = [f.tokens.grad for f in (v, t) if f is not None]
        results.append((loss.detach(), {n: p.grad for n, p in mod.named_parameters()}, leaf))
    (loss0, grads0, leaf0), (loss1, grads1, leaf1) = results
    torch.testing.assert_close(loss1, loss0, atol=0, rtol=0)
    for name, g in grads0.items():
        if g is None:
            assert grads1[name] is None, name
        else:
            torch.testing.assert_close(grads1[name], g, atol=1e-6, rtol=1e-5)
    for a, b in zip(leaf0, leaf1):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------------- vision projection
def test_vision_dims_other_than_embed_dims_use_the_declared_projection():
    mod = make(vision_dims=48)
    assert isinstance(mod.vision_proj, torch.nn.Linear)
    assert mod.vision_proj.weight.shape == (C, 48)
    assert mod.in_dims == {'vision': 48, 'text': C} and mod.out_dims == {'vision': C, 'text': C}
    out_v, _ = mod(vision(dims=48), text())
    assert out_v.tokens.shape == (B, NV, C)
    out_v.tokens.sum().backward()
    assert mod.vision_proj.weight.grad.abs().sum() > 0
    assert isinstance(make().vision_proj, torch.nn.Identity)
    with pytest.raises(ValueError, match='expects vision features of size 48, got 32'):
        mod(vision(dims=C), None)


@pytest.mark.parametrize('kw, match', [
    (dict(num_latents=0), 'num_latents must be a positive integer'),
    (dict(num_layers=0), 'num_layers must be a positive integer'),
    (dict(num_heads=5), 'not divisible by num_heads=5'),
])
def test_bad_arguments_raise_value_error(kw, match):
    with pytest.raises(ValueError, match=match):
        make(**kw)


def test_defaults_are_the_papers():
    mod = UniversalLayers()
    assert mod.num_latents == 50 and len(mod.layers) == 2 and mod.embed_dims == 768
