"""``UniversalLayers``: the modality-shared pivot of mPLUG-2 (eqs. 6-10)."""
import torch
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseUniversal
from mplug_registry.registry import MODELS
from mplug_registry.structures import Features
from mplug_registry_plugins.layers import CrossAttentionBlock, FeedForward, maybe_checkpoint
from mplug_registry_plugins.layers.attention import Attention


class UniversalLayer(nn.Module):
    """One universal layer: SA and FFN weights shared by visual latents and text (eqs. 6-10).

    ``V_SA = LN(SA(V) + V)`` (6), ``W_SA = LN(SA(W) + W)`` (7) with the same SA,
    ``V_CA = LN(CA(V_SA, V^N) + V_SA)`` (8) to the original visual features,
    ``V = LN(FFN(V_CA) + V_CA)`` (9), ``W = LN(FFN(W_SA) + W_SA)`` (10) with the same FFN.
    """

    def __init__(self, dims, num_heads, mlp_ratio=4.0, dropout=0.0):
        super().__init__()
        self.attn = Attention(dims, num_heads, dropout=dropout)      # shared SA
        self.norm_sa = nn.LayerNorm(dims)
        self.cross = CrossAttentionBlock(dims, num_heads, dropout=dropout)  # vision only
        self.ffn = FeedForward(dims, mlp_ratio, dropout)             # shared FFN
        self.norm_ffn = nn.LayerNorm(dims)

    def _sa_ffn(self, x, mask, context=None, context_mask=None):
        x = self.norm_sa(x + self.attn(x, mask=mask))                 # (6) / (7)
        if context is not None:
            x = self.cross(x, context, context_mask)                  # (8)
        return self.norm_ffn(x + self.ffn(x))                         # (9) / (10)

    def forward(self, latents, visual, visual_mask, text, text_mask):
        if latents is not None:
            latents = self._sa_ffn(latents, None, visual, visual_mask)   # [B, k, C]
        if text is not None:
            text = self._sa_ffn(text, text_mask)                          # [B, Nt, C]
        return latents, text


@MODELS.register_module()
class UniversalLayers(BaseUniversal):
    """Universal layers module of mPLUG-2 (§3.1, eqs. 6-10).

    ``num_latents`` (k) learnable visual queries summarise the variable-length visual features;
    ``num_layers`` (S) layers share their self-attention and FFN between those latents and the text
    tokens, the latents also cross-attending to the original visual features (eq. 8). A final
    cross-attention per modality combines the universal outputs ``[V^S; W^S]`` with the original
    representations ``[V^N; W^M]``, giving text-aware visual and visual-aware text features
    (residual, so the original representation is kept). Works with vision only, text only, or both.

    ``forward(vision, text)`` returns ``(vision, text)`` :class:`Features` (``None`` where the input
    was ``None``): vision ``[B, Nv, embed_dims]`` (same length as the input, its mask kept, pooled =
    token 0) and text ``[B, Nt, embed_dims]`` (its padding mask kept, pooled = token 0). Padded
    text tokens are never attended to, nor are masked visual tokens.

    Args:
        embed_dims: width of the shared space (the text encoder's size).
        vision_dims: size of the incoming visual features; when it differs from ``embed_dims`` a
            linear projection ``vision_proj`` maps them (declared here, never a silent resize).
        num_latents: k (default 50).  num_layers: S (default 2).
        with_cp: activation checkpointing per universal layer.
    """

    def __init__(self, embed_dims=768, vision_dims=None, num_latents=50, num_layers=2,
                 num_heads=12, mlp_ratio=4.0, dropout=0.0, with_cp=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        for name, value in dict(embed_dims=embed_dims, num_latents=num_latents,
                                num_layers=num_layers, num_heads=num_heads).items():
            check_positive(name, value)
        vision_dims = vision_dims or embed_dims
        self.embed_dims, self.vision_dims, self.with_cp = embed_dims, vision_dims, with_cp
        self.vision_proj = nn.Linear(vision_dims, embed_dims) \
            if vision_dims != embed_dims else nn.Identity()
        self.latents = nn.Parameter(torch.randn(num_latents, embed_dims) * embed_dims ** -0.5)
        self.layers = nn.ModuleList(
            UniversalLayer(embed_dims, num_heads, mlp_ratio, dropout) for _ in range(num_layers))
        self.vision_out = CrossAttentionBlock(embed_dims, num_heads, dropout=dropout)
        self.text_out = CrossAttentionBlock(embed_dims, num_heads, dropout=dropout)
        self.in_dims = {'vision': vision_dims, 'text': embed_dims}
        self.out_dims = {'vision': embed_dims, 'text': embed_dims}

    @property
    def num_latents(self):
        return self.latents.shape[0]

    def forward(self, vision=None, text=None):
        if vision is None and text is None:
            raise ValueError('UniversalLayers needs vision or text features')
        for name, feats, dims in (('vision', vision, self.vision_dims),
                                  ('text', text, self.embed_dims)):
            if feats is not None and feats.dims != dims:
                raise ValueError(f'UniversalLayers expects {name} features of size {dims}, '
                                 f'got {feats.dims}')
        visual = self.vision_proj(vision.tokens) if vision is not None else None   # [B, Nv, C]
        visual_mask = vision.mask if vision is not None else None                  # [B, Nv]
        latents = self.latents.expand(visual.shape[0], -1, -1) \
            if visual is not None else None                                         # [B, k, C]
        words = text.tokens if text is not None else None                           # [B, Nt, C]
        text_mask = text.mask if text is not None else None                         # [B, Nt]
        for layer in self.layers:
            latents, words = maybe_checkpoint(
                layer, latents, visual, visual_mask, words, text_mask, with_cp=self.with_cp)
        # memory = [V^S; W^S]                                                         [B, k+Nt, C]
        memory = torch.cat([t for t in (latents, words) if t is not None], dim=1)
        memory_mask = None
        if text_mask is not None:
            keep = [text_mask.new_ones(latents.shape[:2])] if latents is not None else []
            memory_mask = torch.cat(keep + [text_mask], dim=1)                      # [B, k+Nt]
        out_v = out_t = None
        if visual is not None:
            out_v = self._combine(self.vision_out, visual, visual_mask, memory, memory_mask,
                                  vision.grid)
        if words is not None:
            out_t = self._combine(self.text_out, text.tokens, text_mask, memory, memory_mask)
        if out_v is not None and out_t is not None:
            # the same final cross-attention over each modality's own universal output: the
            # unimodal features that contrastive heads align (no leak from the paired text)
            out_v.unimodal = self._combine(self.vision_out, visual, visual_mask, latents, None,
                                           vision.grid)
            out_t.unimodal = self._combine(self.text_out, text.tokens, text_mask, words,
                                           text_mask)
        return out_v, out_t

    @staticmethod
    def _combine(block, original, mask, memory, memory_mask, grid=None):
        tokens = block(original, memory, memory_mask)                               # [B, N, C]
        return Features(tokens=tokens, mask=mask, pooled=tokens[:, 0], grid=grid)
