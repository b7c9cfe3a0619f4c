"""Layers and helpers shared by the fusion modules (not registered themselves).

The two layer types of mPLUG §3.2 are built here from the shared attention blocks:

* :class:`CrossAttentionLayer` - the *asymmetric co-attention* layer (mPLUG eqs. 1-3), which is
  also the ALBEF fusion layer used by mPLUG-2's fusion module: one stream self-attends, then
  cross-attends to the other stream, then goes through an FFN.
* the *connected-attention* layer (mPLUG eqs. 4-5) is
  :class:`~mplug_registry_plugins.layers.SelfAttentionBlock` applied to ``[vision; text]``.
"""
import torch
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseFusion
from mplug_registry.structures import Features
from mplug_registry_plugins.layers import CrossAttentionBlock, FeedForward, grid_sincos
from mplug_registry_plugins.layers.attention import Attention


class CrossAttentionLayer(nn.Module):
    """Post-norm SA -> CA -> FFN on one stream (mPLUG eqs. 1-3; BERT layer with cross-attention).

    ``l_SA = LN(SA(l) + l)`` (1), ``l_CA = LN(CA(l_SA, v) + l_SA)`` (2),
    ``l' = LN(FFN(l_CA) + l_CA)`` (3). ``kv_dims`` is the size of the attended stream ``v`` when
    it differs from ``dims``. The two halves are exposed separately so that the co-attention
    layer can run both streams' self-attention before either cross-attends.
    """

    def __init__(self, dims, num_heads, kv_dims=None, mlp_ratio=4.0, dropout=0.0):
        super().__init__()
        self.attn = Attention(dims, num_heads, dropout=dropout)
        self.norm_sa = nn.LayerNorm(dims)
        self.cross = CrossAttentionBlock(dims, num_heads, kv_dims=kv_dims, dropout=dropout)
        self.ffn = FeedForward(dims, mlp_ratio, dropout)
        self.norm_ffn = nn.LayerNorm(dims)

    def attend_self(self, x, mask=None):
        return self.norm_sa(x + self.attn(x, mask=mask))              # (1)  [B, N, C]

    def attend_cross(self, x, context, context_mask=None):
        x = self.cross(x, context, context_mask)                      # (2)  [B, N, C]
        return self.norm_ffn(x + self.ffn(x))                         # (3)  [B, N, C]

    def forward(self, x, context, mask=None, context_mask=None):
        return self.attend_cross(self.attend_self(x, mask), context, context_mask)


class CoAttentionLayer(nn.Module):
    """Dual-stream co-attention layer (mPLUG Fig. 1b, ViLBERT-style).

    Both streams self-attend; then each cross-attends to the other's self-attention output; then
    each has its own FFN. No weight is shared between the streams.
    """

    def __init__(self, dims, num_heads, mlp_ratio=4.0, dropout=0.0):
        super().__init__()
        self.vision = CrossAttentionLayer(dims, num_heads, mlp_ratio=mlp_ratio, dropout=dropout)
        self.text = CrossAttentionLayer(dims, num_heads, mlp_ratio=mlp_ratio, dropout=dropout)

    def forward(self, v, t, vision_mask=None, text_mask=None):
        v_sa = self.vision.attend_self(v, vision_mask)                # [B, Nv, C]
        t_sa = self.text.attend_self(t, text_mask)                    # [B, Nt, C]
        v = self.vision.attend_cross(v_sa, t_sa, text_mask)           # [B, Nv, C]
        t = self.text.attend_cross(t_sa, v_sa, vision_mask)           # [B, Nt, C]
        return v, t


def concat_masks(vision_mask, text_mask, num_vision, num_text):
    """Keep-mask of ``[vision; text]``; a missing mask means all valid (``None`` if both are)."""
    if vision_mask is None and text_mask is None:
        return None
    ref = text_mask if text_mask is not None else vision_mask
    if vision_mask is None:
        vision_mask = ref.new_ones(ref.shape[0], num_vision)
    if text_mask is None:
        text_mask = ref.new_ones(ref.shape[0], num_text)
    return torch.cat([vision_mask.to(ref.dtype), text_mask], dim=1)  # [B, Nv+Nt]


#: position codes a fusion module can add to the visual tokens (``vision_pos``)
VISION_POS = (None, 'sincos')


class FusionBase(BaseFusion):
    """Argument checks, dimension declarations and the vision projection common to every fusion.

    ``project_vision``: map incoming visual features of ``vision_dims`` to ``embed_dims`` with a
    declared linear layer (needed when vision and text share attention); otherwise the vision
    size is left to the layers (cross-attention ``kv_dims``).

    ``vision_pos``: ``None`` or ``'sincos'``: add fixed 2-D sine-cosine codes of each visual
    token's place in the patch grid (:func:`~mplug_registry_plugins.layers.grid_sincos`, from
    ``vision.grid``) to the visual tokens the fusion reads, so keys and values carry it (DETR adds
    its codes to the keys of every attention). An encoder trained from scratch need not keep
    where a patch is once its objectives stop rewarding it; questions such as "what colour is the
    leftmost shape?" need it in the fused tokens (README, VQA on the shapes scenes).
    """

    def __init__(self, embed_dims, vision_dims, num_heads, num_layers, mlp_ratio, with_cp,
                 project_vision, vision_pos=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if vision_pos not in VISION_POS:
            raise ValueError(f'vision_pos must be one of {VISION_POS}, got {vision_pos!r}')
        self.vision_pos = vision_pos
        vision_dims = embed_dims if vision_dims is None else vision_dims
        for name, value in dict(embed_dims=embed_dims, vision_dims=vision_dims,
                                num_heads=num_heads, num_layers=num_layers).items():
            check_positive(name, value)
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        if not mlp_ratio > 0:
            raise ValueError(f'mlp_ratio must be > 0, got {mlp_ratio!r}')
        self.embed_dims, self.vision_dims, self.with_cp = embed_dims, vision_dims, with_cp
        self.vision_proj = None
        if project_vision:
            self.vision_proj = nn.Linear(vision_dims, embed_dims) \
                if vision_dims != embed_dims else nn.Identity()
        self.in_dims = {'vision': vision_dims, 'text': embed_dims}
        self.out_dims = {'fused': embed_dims}

    def _inputs(self, vision, text):
        """Check the widths; return the vision (projected if declared) and text tokens."""
        for name, feats, dims in (('vision', vision, self.vision_dims),
                                  ('text', text, self.embed_dims)):
            if feats.tokens.shape[-1] != dims:
                raise ValueError(f'{type(self).__name__} expects {name} features of size {dims}, '
                                 f'got {feats.tokens.shape[-1]}')
        v = vision.tokens if self.vision_proj is None else self.vision_proj(vision.tokens)
        if self.vision_pos is not None:
            v = v + self._position_codes(vision, v)                    # [B, Nv, C]
        return v, text.tokens                                          # [B, Nv, C], [B, Nt, C]

    def _position_codes(self, vision, v):
        """``[Nv, C]`` codes of the visual tokens ``v`` (``vision_pos='sincos'``)."""
        name = type(self).__name__
        if vision.grid is None:
            raise ValueError(f"{name}(vision_pos='sincos') needs the patch grid of the visual "
                             'tokens (Features.grid), which the vision slot did not set; use a '
                             'vision encoder that reports it (DualVisionEncoder) or vision_pos=None')
        frames, h, w = vision.grid
        if v.shape[1] != 1 + frames * h * w:
            raise ValueError(f'{name}: {v.shape[1]} visual tokens do not match their grid '
                             f'{tuple(vision.grid)} (1 + T*h*w = {1 + frames * h * w})')
        return grid_sincos(vision.grid, v.shape[-1], v.device, v.dtype)

    @staticmethod
    def _concat_output(v, t, vision_mask, text_mask):
        """``Features`` of ``[vision; text]`` with ``pooled`` at the text's first ([CLS]) token."""
        tokens = torch.cat([v, t], dim=1)                              # [B, Nv+Nt, C]
        mask = concat_masks(vision_mask, text_mask, v.shape[1], t.shape[1])
        return Features(tokens=tokens, mask=mask, pooled=tokens[:, v.shape[1]])
