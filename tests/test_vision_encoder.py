"""DualVisionEncoder (mPLUG-2 §3.1, eqs. 1-5): LT identity at init, weight sharing, CLIP layout."""
import inspect

import pytest
import torch

from mplug_registry_plugins.encoders.vision import ARCH_ZOO, DualVisionEncoder, resize_pos_embed

WIDTH, LAYERS, HEADS, PATCH, SIZE = 32, 2, 2, 8, 32     # 4x4 grid, 16 patches
GRID = SIZE // PATCH


def make(**kw):
    torch.manual_seed(0)
    args = dict(arch='tiny', width=WIDTH, layers=LAYERS, heads=HEADS, patch_size=PATCH,
                image_size=SIZE)
    args.update(kw)
    return DualVisionEncoder(**args)


def video(b=2, t=3, size=SIZE, seed=1):
    return torch.randn(b, t, 3, size, size, generator=torch.Generator().manual_seed(seed))


def perturb_lt(enc, scale=0.2):
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for block in enc.transformer.resblocks:
            block.temporal.varphi.weight.copy_(scale * torch.randn(WIDTH, WIDTH, generator=gen))
            block.temporal.varphi.bias.copy_(scale * torch.randn(WIDTH, generator=gen))


def per_frame_layout(enc, vid):
    """Each frame run as an image, assembled like a video: ``[B, 1+T*L, C]``, CLS averaged."""
    b, t = vid.shape[:2]
    frames = enc(vid.flatten(0, 1)).tokens.view(b, t, 1 + GRID * GRID, WIDTH)
    return torch.cat([frames[:, :, :1].mean(1), frames[:, :, 1:].flatten(1, 2)], dim=1)


def is_lt(name):
    return ".temporal." in name


# ----------------------------------------------------------------------------- LT (eqs. 1, 4-5)
def test_lt_is_identity_at_init_video_equals_per_frame_images():
    enc = make().eval()
    vid = video()
    with torch.no_grad():
        out = enc(vid)
        expected = per_frame_layout(enc, vid)
    assert out.tokens.shape == (2, 1 + 3 * GRID * GRID, WIDTH)
    torch.testing.assert_close(out.tokens, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.pooled, expected[:, 0], atol=1e-5, rtol=1e-5)


def test_perturbed_lt_changes_video_but_not_images():
    enc = make().eval()
    vid = video()
    images = vid[:, 0]
    with torch.no_grad():
        image_before = enc(images).tokens
        perturb_lt(enc)
        image_after = enc(images).tokens
        diff = (enc(vid).tokens - per_frame_layout(enc, vid)).abs().max().item()
    assert torch.equal(image_before, image_after)         # LT skipped for images
    assert diff > 1e-2


def test_single_frame_video_still_runs_lt():
    enc = make().eval()
    perturb_lt(enc)
    vid = video(t=1)
    with torch.no_grad():
        diff = (enc(vid).tokens - enc(vid[:, 0]).tokens).abs().max().item()
    assert diff > 1e-2


def test_lt_groups_default_to_width():
    enc = make()
    lt = enc.transformer.resblocks[0].temporal
    assert lt.temporal.groups == WIDTH                   # paper: G = C
    assert make(lt_groups=4).transformer.resblocks[0].temporal.temporal.groups == 4


# ------------------------------------------------------------------------ shared parameters
def test_image_loss_reaches_every_parameter_except_lt():
    enc = make()
    perturb_lt(enc)                                      # LT must be skipped, not merely zero
    enc(video()[:, 0]).tokens.square().mean().backward()
    names = dict(enc.named_parameters())
    got = {n for n, p in names.items() if p.grad is not None and p.grad.abs().sum() > 0}
    assert got == {n for n in names if not is_lt(n)}
    assert all(names[n].grad is None for n in names if is_lt(n))
    assert any(is_lt(n) for n in names)


def test_video_loss_reaches_lt_parameters():
    enc = make()
    perturb_lt(enc)
    enc(video()).tokens.square().mean().backward()
    names = dict(enc.named_parameters())
    got = {n for n, p in names.items() if p.grad is not None and p.grad.abs().sum() > 0}
    assert got == set(names)


# ------------------------------------------------------------------------------ CLIP layout
def clip_visual_keys(width, layers, patch, grid, out_dim):
    """Key names and shapes of OpenAI CLIP's ``VisionTransformer`` (``clip/model.py``)."""
    shapes = {'class_embedding': (width, ), 'positional_embedding': (grid * grid + 1, width),
              'proj': (width, out_dim), 'conv1.weight': (width, 3, patch, patch),
              'ln_pre.weight': (width, ), 'ln_pre.bias': (width, ),
              'ln_post.weight': (width, ), 'ln_post.bias': (width, )}
    for i in range(layers):
        p = f'transformer.resblocks.{i}.'
        shapes.update({
            p + 'attn.in_proj_weight': (3 * width, width), p + 'attn.in_proj_bias': (3 * width, ),
            p + 'attn.out_proj.weight': (width, width), p + 'attn.out_proj.bias': (width, ),
            p + 'ln_1.weight': (width, ), p + 'ln_1.bias': (width, ),
            p + 'mlp.c_fc.weight': (4 * width, width), p + 'mlp.c_fc.bias': (4 * width, ),
            p + 'mlp.c_proj.weight': (width, 4 * width), p + 'mlp.c_proj.bias': (width, ),
            p + 'ln_2.weight': (width, ), p + 'ln_2.bias': (width, )})
    return shapes


def clip_text_keys(width=24, ctx=77, vocab=100, embed=16):
    """A one-layer CLIP text tower (top-level keys of the whole CLIP model)."""
    p = 'transformer.resblocks.0.'
    return {'positional_embedding': (ctx, width), 'text_projection': (width, embed),
            'logit_scale': (), 'token_embedding.weight': (vocab, width),
            'ln_final.weight': (width, ), 'ln_final.bias': (width, ),
            p + 'attn.in_proj_weight': (3 * width, width), p + 'attn.in_proj_bias': (3 * width, ),
            p + 'attn.out_proj.weight': (width, width), p + 'attn.out_proj.bias': (width, ),
            p + 'ln_1.weight': (width, ), p + 'ln_1.bias': (width, ),
            p + 'mlp.c_fc.weight': (4 * width, width), p + 'mlp.c_fc.bias': (4 * width, ),
            p + 'mlp.c_proj.weight': (width, 4 * width), p + 'mlp.c_proj.bias': (width, ),
            p + 'ln_2.weight': (width, ), p + 'ln_2.bias': (width, )}


def random_state(shapes, seed=3, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=gen).to(dtype) for k, s in shapes.items()}


@pytest.mark.parametrize('whole_clip', [False, True])
def test_clip_state_dict_loads_every_key(whole_clip):
    visual = random_state(clip_visual_keys(WIDTH, LAYERS, PATCH, GRID, out_dim=16))
    sd = dict(visual)
    if whole_clip:                                       # fp16, with the text tower beside it
        sd = {f'visual.{k}': v.half() for k, v in visual.items()}
        sd.update(random_state(clip_text_keys(), seed=4, dtype=torch.float16))
    enc = make(output_dim=16)
    own = enc.state_dict()
    assert set(own) - {k for k in own if is_lt(k)} == set(visual)    # same layout, LT aside
    lt_before = {k: v.clone() for k, v in own.items() if is_lt(k)}
    assert enc.load_clip_state_dict(sd) == ([], [])
    own = enc.state_dict()
    for key, value in visual.items():
        expected = value.half().float() if whole_clip else value
        assert torch.equal(own[key], expected), key
    for key, value in lt_before.items():                 # LT keeps its identity init
        assert torch.equal(own[key], value), key


def test_clip_state_dict_of_another_grid_is_interpolated():
    shapes = clip_visual_keys(WIDTH, LAYERS, PATCH, grid=7, out_dim=16)
    sd = random_state(shapes)
    enc = make(output_dim=16)
    enc.load_clip_state_dict(sd)
    pos = enc.positional_embedding.detach()
    assert pos.shape == (GRID * GRID + 1, WIDTH)
    assert torch.equal(pos[0], sd['positional_embedding'][0])        # CLS row untouched
    torch.testing.assert_close(pos, resize_pos_embed(sd['positional_embedding'], GRID, GRID))
    sd['positional_embedding'] = torch.ones(50, WIDTH) * torch.arange(WIDTH)   # constant grid
    enc.load_clip_state_dict(sd)
    torch.testing.assert_close(enc.positional_embedding.detach(),
                               torch.ones(GRID * GRID + 1, WIDTH) * torch.arange(WIDTH))


def test_clip_state_dict_of_wrong_width_raises():
    sd = random_state(clip_visual_keys(48, LAYERS, PATCH, GRID, out_dim=16))
    with pytest.raises(ValueError, match=r'width 48 but the encoder has width 32') as err:
        make(output_dim=16).load_clip_state_dict(sd)
    assert '\n' not in str(err.value)


def test_clip_state_dict_mismatches_name_the_keys():
    sd = random_state(clip_visual_keys(WIDTH, LAYERS + 1, PATCH, GRID, out_dim=16))
    with pytest.raises(ValueError, match=r"unexpected \['transformer.resblocks.2."):
        make(output_dim=16).load_clip_state_dict(sd)
    with pytest.raises(ValueError, match=r"set output_dim=16"):
        make().load_clip_state_dict(random_state(
            clip_visual_keys(WIDTH, LAYERS, PATCH, GRID, out_dim=16)))
    with pytest.raises(ValueError, match=r'conv1.weight \(32, 3, 4, 4\) vs \(32, 3, 8, 8\)'):
        make(output_dim=16).load_clip_state_dict(random_state(
            clip_visual_keys(WIDTH, LAYERS, 4, GRID, out_dim=16)))


# ------------------------------------------------------------------------------- resolution
def test_other_resolution_interpolates_position_embedding():
    enc = make().eval()
    with torch.no_grad():
        image = enc(torch.randn(2, 3, 48, 40)).tokens
        vid = enc(video(size=48)).tokens
    assert image.shape == (2, 1 + 6 * 5, WIDTH)
    assert vid.shape == (2, 1 + 3 * 36, WIDTH)
    assert resize_pos_embed(enc.positional_embedding, GRID, GRID) is enc.positional_embedding


@pytest.mark.parametrize('shape', [(2, 3, 36, 32), (2, 2, 3, 32, 30)])
def test_bad_image_size_raises_one_line(shape):
    with pytest.raises(ValueError, match=r'is not a multiple of the patch size 8') as err:
        make()(torch.randn(*shape))
    assert '\n' not in str(err.value)


@pytest.mark.parametrize('kw, match', [
    (dict(image_size=30), 'image_size 30 is not a multiple of patch_size 8'),
    (dict(heads=3), 'width 32 is not divisible by heads=3'),
    (dict(lt_groups=5), 'lt_groups=5 must be a positive divisor'),
    (dict(lt_kernel_size=2), 'lt_kernel_size=2 must be a positive odd number'),
    (dict(arch='huge'), "unknown arch 'huge'"),
])
def test_bad_arguments_raise_value_error(kw, match):
    with pytest.raises(ValueError, match=match):
        make(**kw)


def test_defaults_are_the_papers():
    params = inspect.signature(DualVisionEncoder).parameters
    assert params['arch'].default == 'base' and params['lt_kernel_size'].default == 3
    assert ARCH_ZOO['base'] == dict(width=768, layers=12, heads=12, patch_size=16, image_size=224)
    assert ARCH_ZOO['large'] == dict(width=1024, layers=24, heads=16, patch_size=14, image_size=224)


# ---------------------------------------------------------------------------- checkpointing
@pytest.mark.parametrize('is_video', [False, True])
def test_with_cp_gives_same_loss_and_grads(is_video):
    inputs = video() if is_video else video()[:, 0]
    results = []
    for with_cp in (False, True):
        enc = make(with_cp=with_cp).train()
        perturb_lt(enc)
        loss = enc(inputs).tokens.square().mean()
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in enc.named_parameters()}))
    (loss0, grads0), (loss1, grads1) = results
    torch.testing.assert_close(loss1, loss0, atol=0, rtol=0)
    assert grads0.keys() == grads1.keys()
    for name in grads0:
        if grads0[name] is None:
            assert grads1[name] is None and is_lt(name) and not is_video
        else:
            torch.testing.assert_close(grads1[name], grads0[name], atol=1e-6, rtol=1e-5)


# ----------------------------------------------------------------------------- from-scratch options

@pytest.mark.parametrize('patch, stem', [(8, 'conv'), (12, 'conv'), (14, 'hybrid')])
def test_conv_stems_give_the_patch_grid_and_train(patch, stem):
    from mplug_registry_plugins.encoders.vision import ConvStem
    torch.manual_seed(0)
    enc = DualVisionEncoder(arch='tiny', width=WIDTH, layers=1, heads=HEADS, patch_size=patch,
                            image_size=patch * 4, stem=stem)
    assert isinstance(enc.conv1, ConvStem) and (enc.conv1.patch is not None) == (stem == 'hybrid')
    out = enc(torch.randn(3, 3, patch * 4, patch * 4))
    assert out.tokens.shape == (3, 1 + 16, WIDTH)
    out.tokens.sum().backward()
    assert all(p.grad is not None for p in enc.conv1.parameters())
    with pytest.raises(ValueError, match="build the encoder with stem='patch' to load one"):
        enc.load_clip_state_dict(make().state_dict())
    with pytest.raises(ValueError, match=r"stem must be one of \('patch', 'conv', 'hybrid'\), "
                                         "got 'vit'"):
        make(stem='vit')


# ------------------------------------------------------------- temporal modules (Table 15)
TEMPORALS = ['LocalTemporal', 'TemporalSelfAttention', 'TemporalConv', None]


def perturb_temporal(enc, scale=0.2):
    """Give every temporal module's zero-initialised output projection random weights."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for block in enc.transformer.resblocks:
            out = getattr(block.temporal, 'varphi', None) or getattr(block.temporal, 'out', None)
            if out is not None:
                out.weight.copy_(scale * torch.randn(out.weight.shape, generator=gen))
                out.bias.copy_(scale * torch.randn(out.bias.shape, generator=gen))
            if hasattr(block.temporal, 'frame_embed'):      # learned small: make order visible
                block.temporal.frame_embed.copy_(torch.randn(block.temporal.frame_embed.shape,
                                                             generator=gen))


@pytest.mark.parametrize('temporal', TEMPORALS)
def test_every_temporal_module_starts_as_identity(temporal):
    enc = make(temporal=temporal).eval()
    vid = video()
    with torch.no_grad():
        torch.testing.assert_close(enc(vid).tokens, per_frame_layout(enc, vid), atol=1e-5,
                                   rtol=1e-5)


@pytest.mark.parametrize('temporal', TEMPORALS)
def test_only_temporal_modules_see_the_order_of_frames(temporal):
    """Reversing a clip changes the pooled feature with a temporal module, not without one."""
    enc = make(temporal=temporal).eval()
    perturb_temporal(enc)
    vid = video(t=4)
    with torch.no_grad():
        diff = (enc(vid).pooled - enc(vid.flip(1)).pooled).abs().max().item()
    if temporal is None:
        assert diff < 1e-5
    else:
        assert diff > 1e-3


@pytest.mark.parametrize('temporal', TEMPORALS)
def test_clip_checkpoint_loads_into_any_temporal_module(temporal):
    sd = random_state(clip_visual_keys(WIDTH, LAYERS, PATCH, GRID, out_dim=16))
    enc = make(output_dim=16, temporal=temporal)
    assert enc.load_clip_state_dict(sd) == ([], [])
    assert set(enc.state_dict()) - {k for k in enc.state_dict() if is_lt(k)} == set(sd)


def test_temporal_modules_are_registered_and_configurable():
    from mplug_registry.registry import MODELS
    for name in TEMPORALS[:-1]:
        assert MODELS.get(name) is not None
    enc = make(temporal=dict(type='TemporalSelfAttention', heads=4, max_frames=2))
    block = enc.transformer.resblocks[0].temporal
    assert block.heads == 4 and block.frame_embed.shape == (2, WIDTH)
    with torch.no_grad():       # clips longer than max_frames interpolate the frame embeddings
        assert enc(video(t=5)).tokens.shape == (2, 1 + 5 * GRID * GRID, WIDTH)
    assert make(temporal=dict(type='TemporalConv', kernel_size=5)) \
        .transformer.resblocks[0].temporal.temporal.kernel_size == (5, )
    with pytest.raises(ValueError, match='lt_groups / lt_kernel_size set the LocalTemporal'):
        make(temporal='TemporalConv', lt_groups=4)
    with pytest.raises(ValueError, match='temporal must be None or dict'):
        make(temporal=3)
