"""``DualVisionEncoder``: one ViT for images and videos with local temporal modules (mPLUG-2 §3.1).

Images ``[B, 3, H, W]`` and videos ``[B, T, 3, H, W]`` share every weight except the local temporal
(LT) modules, which run only for videos. The parameter layout is OpenAI CLIP's ``VisionTransformer``
(``conv1``, ``class_embedding``, ``positional_embedding``, ``ln_pre``,
``transformer.resblocks.{i}.{ln_1,attn,ln_2,mlp}``, ``ln_post``, ``proj``), so a CLIP ViT state dict
loads with :meth:`DualVisionEncoder.load_clip_state_dict`.
"""
import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseEncoder
from mplug_registry.registry import MODELS
from mplug_registry.structures import Features
from mplug_registry_plugins.encoders.temporal import build_temporal
from mplug_registry_plugins.layers import maybe_checkpoint

#: size presets (CLIP ViT-B/16 and ViT-L/14; ``tiny`` for tests and CPU runs)
ARCH_ZOO = {
    'tiny': dict(width=192, layers=4, heads=3, patch_size=16, image_size=224),
    'base': dict(width=768, layers=12, heads=12, patch_size=16, image_size=224),
    'large': dict(width=1024, layers=24, heads=16, patch_size=14, image_size=224),
}


#: patch embeddings: CLIP's linear projection, a convolutional stem, or both summed
STEMS = ('patch', 'conv', 'hybrid')


def resize_pos_embed(pos, gh, gw):
    """Bicubic resize of a ``[1 + side*side, C]`` position embedding to a ``gh x gw`` grid."""
    side = math.isqrt(pos.shape[0] - 1)
    if (gh, gw) == (side, side):
        return pos
    grid = pos[1:].reshape(1, side, side, -1).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=(gh, gw), mode='bicubic', align_corners=False).to(pos.dtype)
    return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)])


class ConvStem(nn.Module):
    """Convolutional stem (Xiao et al. 2021, "Early convolutions help transformers see better"):
    3x3 convolutions of stride 2 with BatchNorm + ReLU while the patch size stays even (at most
    two; ``width / 4`` then ``width / 2`` channels), then a ``k x k`` convolution of stride ``k``
    for the rest of the patch: ``[B, 3, H, W]`` -> ``[B, width, H/p, W/p]``, like the patch
    projection (for ``p = 12``: 3x3/2, 3x3/2, 3x3/3).
    ``with_patch``: plus CLIP's linear ``p x p`` patch projection (``patch``), summed.

    Why both: trained from scratch with VQA and grounding on the shapes scenes, the convolutions
    alone learn the shapes but lose the colours (the "what colour" answers fall to chance), which
    the linear projection keeps; summed, both (README; figures in docs/results.md).
    """

    def __init__(self, width, patch_size, with_patch=False):
        super().__init__()
        layers, channels, rest = [], 3, patch_size
        for _ in range(2):
            if rest % 2 or rest == 2:
                break
            out = width // (4 if not layers else 2)
            layers += [nn.Conv2d(channels, out, 3, 2, 1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            channels, rest = out, rest // 2
        layers.append(nn.Conv2d(channels, width, rest, rest))
        self.convs = nn.Sequential(*layers)
        self.patch = nn.Conv2d(3, width, patch_size, patch_size, bias=False) \
            if with_patch else None

    def forward(self, x):
        out = self.convs(x)
        return out if self.patch is None else out + self.patch(x)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class CLIPAttention(nn.Module):
    """Self-attention with CLIP's parameter names (``in_proj_weight``, ``out_proj``) on SDPA."""

    def __init__(self, width, heads):
        super().__init__()
        if heads < 1 or width % heads:
            raise ValueError(f'width {width} is not divisible by heads={heads}')
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x):  # [B, N, C]
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2)
                   for t in F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, -1))
        out = F.scaled_dot_product_attention(q, k, v)            # [B, H, N, C/H]
        return self.out_proj(out.transpose(1, 2).flatten(2))


class ResidualAttentionBlock(nn.Module):
    """CLIP block plus a temporal module for videos: eqs. (1)-(3) in pre-norm form."""

    def __init__(self, width, heads, temporal=None, mlp_ratio=4.0):
        super().__init__()
        self.temporal = build_temporal(temporal, width)      # None: no temporal module
        self.ln_1 = nn.LayerNorm(width)
        self.attn = CLIPAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict(
            c_fc=nn.Linear(width, hidden), gelu=QuickGELU(), c_proj=nn.Linear(hidden, width)))

    def forward(self, x, num_frames=None):     # x: [B*T, 1+L, C]; num_frames None = images
        if num_frames is not None and self.temporal is not None:
            x = x + self.temporal(x, num_frames)    # eq. (1): temporal, same spatial location
        x = x + self.attn(self.ln_1(x))             # eq. (2): spatial self-attention per frame
        return x + self.mlp(self.ln_2(x))           # eq. (3)


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, temporal=None, with_cp=False):
        super().__init__()
        self.with_cp = with_cp
        self.resblocks = nn.ModuleList(
            ResidualAttentionBlock(width, heads, temporal) for _ in range(layers))

    def forward(self, x, num_frames=None):
        for block in self.resblocks:
            x = maybe_checkpoint(lambda t, b=block: b(t, num_frames), x, with_cp=self.with_cp)
        return x


def temporal_cfg(temporal, groups=None, kernel_size=3):
    """``temporal`` as a config dict (or None); ``lt_groups`` / ``lt_kernel_size`` fill in an LT."""
    if temporal is None:
        return None
    cfg = dict(type=temporal) if isinstance(temporal, str) else temporal
    if isinstance(cfg, dict) and cfg.get('type') == 'LocalTemporal':
        cfg = dict(dict(groups=groups, kernel_size=kernel_size), **cfg)
    elif groups is not None or kernel_size != 3:
        raise ValueError(f'lt_groups / lt_kernel_size set the LocalTemporal module, but temporal '
                         f'is {temporal!r}: give its arguments in temporal=dict(type=..., ...)')
    return cfg


@MODELS.register_module()
class DualVisionEncoder(BaseEncoder):
    """Dual-vision encoder of mPLUG-2 (§3.1, eqs. 1-5) in the CLIP ViT layout.

    Args:
        arch: preset in :data:`ARCH_ZOO` (``tiny``, ``base`` = ViT-B/16, ``large`` = ViT-L/14).
        width, layers, heads, patch_size, image_size: override the preset.
        temporal: the temporal module of every block for videos (:mod:`.temporal`, mPLUG-2
            Table 15): a registered name or ``dict(type=..., **args)``: ``'LocalTemporal'`` (LT,
            eqs. 4-5, the default), ``'TemporalSelfAttention'``, ``'TemporalConv'``, or ``None``
            (frames are encoded as images and only pooled).
        lt_groups: number of groups G of the local temporal modules (default ``None``: G = C,
            the paper's choice, appendix B.1); only with ``LocalTemporal``.
        lt_kernel_size: temporal kernel size k of ``A_g`` (odd, default 3); only with
            ``LocalTemporal``.
        output_dim: if set, a CLIP ``proj`` ``[width, output_dim]`` is created (used by contrastive
            heads as ``encoder.proj``); ``Features`` keep the width.
        with_cp: activation checkpointing per block.
        stem: ``'patch'`` (CLIP's ``p x p`` patch projection ``conv1``), ``'conv'`` (a small
            convolutional stem, :class:`ConvStem`, for training from scratch) or ``'hybrid'``
            (both, summed); CLIP checkpoints fit ``'patch'`` only.
        pretrained: local path of a CLIP state dict, or of a checkpoint of this project whose
            ``vision_encoder`` has this architecture (its temporal modules are loaded too), to
            load at init.

    ``forward(images)`` returns :class:`Features` with ``tokens`` ``[B, 1+L, C]`` for images and
    ``[B, 1+T*L, C]`` for videos (CLS averaged over time, then every frame's patch tokens) and
    ``pooled`` = the final CLS ``[B, C]``. Any input ``[B, T, 3, H, W]`` is a video (LT runs, even
    for T = 1); ``[B, 3, H, W]`` is an image (LT is skipped). Other resolutions interpolate the
    position embedding.
    """
    modality = 'vision'

    def __init__(self, arch='base', width=None, layers=None, heads=None, patch_size=None,
                 image_size=None, temporal='LocalTemporal', lt_groups=None, lt_kernel_size=3,
                 output_dim=None,
                 with_cp=False, stem='patch', pretrained=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_ZOO:
            raise ValueError(f"unknown arch '{arch}', choose from {sorted(ARCH_ZOO)}")
        spec = dict(ARCH_ZOO[arch])
        for name, value in dict(width=width, layers=layers, heads=heads, patch_size=patch_size,
                                image_size=image_size).items():
            if value is not None:
                spec[name] = value
        for name, value in spec.items():
            check_positive(name, value)
        if spec['image_size'] % spec['patch_size']:
            raise ValueError(f"image_size {spec['image_size']} is not a multiple of "
                             f"patch_size {spec['patch_size']}")
        self.arch = spec
        self.patch_size = spec['patch_size']
        w = self.width = spec['width']
        grid = spec['image_size'] // spec['patch_size']
        scale = w ** -0.5
        if stem not in STEMS:
            raise ValueError(f'stem must be one of {STEMS}, got {stem!r}')
        self.conv1 = nn.Conv2d(3, w, spec['patch_size'], spec['patch_size'], bias=False) \
            if stem == 'patch' else ConvStem(w, spec['patch_size'], with_patch=stem == 'hybrid')
        self.class_embedding = nn.Parameter(scale * torch.randn(w))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, w))
        self.ln_pre = nn.LayerNorm(w)
        self.transformer = Transformer(
            w, spec['layers'], spec['heads'],
            temporal_cfg(temporal, groups=lt_groups, kernel_size=lt_kernel_size), with_cp=with_cp)
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Parameter(scale * torch.randn(w, output_dim)) if output_dim else None
        self.out_dims = {'vision': w}
        if pretrained:
            from mplug_registry.checkpoint import load_local_state_dict
            self.load_clip_state_dict(load_local_state_dict(pretrained))

    @property
    def with_cp(self):
        return self.transformer.with_cp

    @with_cp.setter
    def with_cp(self, value):
        self.transformer.with_cp = value

    def embed(self, images):
        """Patch + position embeddings and ``ln_pre``: ``[B*T, 1+L, C]`` and the grid ``(T, h, w)``."""
        if images.dim() not in (4, 5) or images.shape[-3] != 3:
            raise ValueError(f'expected images [B, 3, H, W] or videos [B, T, 3, H, W], got shape '
                             f'{tuple(images.shape)}')
        video = images.dim() == 5
        x = images.flatten(0, 1) if video else images                # [B*T, 3, H, W]
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError(f'image size {tuple(x.shape[-2:])} is not a multiple of the patch '
                             f'size {self.patch_size}')
        x = self.conv1(x)                                            # [B*T, C, h, w]
        grid = (images.shape[1] if video else 1, *x.shape[-2:])      # (T, h, w)
        pos = resize_pos_embed(self.positional_embedding, *x.shape[-2:]).to(x.dtype)  # [1+L, C]
        x = x.flatten(2).transpose(1, 2)                             # [B*T, L, C]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)             # [B*T, 1, C]
        return self.ln_pre(torch.cat([cls, x], dim=1) + pos), grid   # [B*T, 1+L, C]

    def forward(self, images):
        video = images.dim() == 5
        b, t = images.shape[0], images.shape[1] if video else None
        x, grid = self.embed(images)                                 # [B*T, 1+L, C]
        x = self.transformer(x, num_frames=t)                        # [B*T, 1+L, C]
        x = self.ln_post(x)
        if video:
            x = x.view(b, t, *x.shape[1:])                           # [B, T, 1+L, C]
            cls = x[:, :, 0].mean(dim=1, keepdim=True)               # [B, 1, C]
            x = torch.cat([cls, x[:, :, 1:].flatten(1, 2)], dim=1)   # [B, 1+T*L, C]
        return Features(tokens=x, pooled=x[:, 0], grid=grid)

    def load_clip_state_dict(self, state_dict, strict=True):
        """Load an OpenAI-CLIP vision state dict (whole-CLIP keys under ``visual.`` are taken), or
        the ``vision_encoder.`` weights of a checkpoint of this project (e.g. a video
        classification run's encoder into a video QA model).

        The temporal modules (LT or another choice) are not in CLIP checkpoints: they keep their
        identity initialisation. A position embedding of another (square) grid is interpolated.
        Returns ``(missing, unexpected)`` without the temporal modules' keys; a width or shape mismatch raises
        ``ValueError``, and so does, with ``strict``, any missing or unexpected key.
        """
        if not isinstance(self.conv1, nn.Conv2d):
            raise ValueError("CLIP checkpoints have a linear patch projection: build the encoder "
                             "with stem='patch' to load one")
        for prefix in ('visual.', 'vision_encoder.'):   # whole CLIP; a checkpoint of ours
            if any(k.startswith(prefix) for k in state_dict):
                state_dict = {k[len(prefix):]: v for k, v in state_dict.items()
                              if k.startswith(prefix)}
                break
        sd = dict(state_dict)
        ckpt_width = sd['class_embedding'].shape[-1] if 'class_embedding' in sd else self.width
        if ckpt_width != self.width:
            raise ValueError(f'CLIP state dict has width {ckpt_width} but the encoder has width '
                             f'{self.width}: choose the matching arch/width')
        own = self.positional_embedding
        if 'positional_embedding' in sd and sd['positional_embedding'].shape != own.shape:
            pos = sd['positional_embedding']
            side = math.isqrt(pos.shape[0] - 1)
            if side * side != pos.shape[0] - 1:
                raise ValueError(f'CLIP positional_embedding has {pos.shape[0] - 1} patches, '
                                 'not a square grid')
            own_side = math.isqrt(own.shape[0] - 1)
            sd['positional_embedding'] = resize_pos_embed(pos, own_side, own_side)
        own_sd = self.state_dict()
        wrong = [f'{k} {tuple(v.shape)} vs {tuple(own_sd[k].shape)}' for k, v in sd.items()
                 if k in own_sd and v.shape != own_sd[k].shape]
        if wrong:
            raise ValueError(f'CLIP state dict shapes do not match DualVisionEncoder '
                             f'(checkpoint vs encoder): {wrong[:5]}')
        result = self.load_state_dict(sd, strict=False)
        missing = [k for k in result.missing_keys if '.temporal.' not in k]
        unexpected = list(result.unexpected_keys)
        if strict and (missing or unexpected):
            hint = ''
            if 'proj' in unexpected and self.proj is None:
                hint = f" (set output_dim={sd['proj'].shape[-1]} to keep CLIP's proj)"
            raise ValueError(f'CLIP state dict does not match DualVisionEncoder: missing '
                             f'{missing[:5]}, unexpected {unexpected[:5]}{hint}')
        return missing, unexpected
