"""``CrossAttentionFusion``: the ALBEF-style fusion module of mPLUG-2 (§3.1 "Fusion Module")."""
from torch import nn

from mplug_registry.registry import MODELS
from mplug_registry.structures import Features
from mplug_registry_plugins.layers import maybe_checkpoint

from .blocks import CrossAttentionLayer, FusionBase


@MODELS.register_module()
class CrossAttentionFusion(FusionBase):
    """A stack of Transformer blocks with cross-attention: text SA -> CA to vision -> FFN.

    Each layer is mPLUG's asymmetric co-attention layer (eqs. 1-3); the visual tokens are the
    keys/values of every cross-attention and are never updated. This is the fusion module of
    mPLUG-2 (taken from ALBEF) and the "asymmetric co-attention" baseline of mPLUG §5.3.2.

    Args:
        embed_dims: text width C (default 768).
        vision_dims: width of the visual features; when it differs from ``embed_dims`` the
            cross-attention keys/values are computed from it directly (``kv_dims``).
        num_heads: attention heads (12).  num_layers: fusion layers (6).
        mlp_ratio: FFN hidden size / C (4).  dropout: attention and FFN dropout.
        with_cp: activation checkpointing per layer.
        vision_pos: ``'sincos'`` adds fixed 2-D position codes to the visual tokens (see
            :class:`~.blocks.FusionBase`); ``None`` (default) reads them as they come.

    ``forward(vision, text)`` returns :class:`Features` of the **text side**: ``tokens``
    ``[B, Nt, C]`` (what a decoder cross-attends to), ``mask`` = the text mask, ``pooled`` =
    ``tokens[:, 0]`` (the fused [CLS]). ``vision.mask`` (``[B, Nv]``, may be ``None``) masks
    the cross-attention keys, ``text.mask`` (``[B, Nt]``) the self-attention keys.
    With ``keep_attention`` (set by a head that supervises it, e.g. ``GroundingHead(patch_scores=
    'fusion')``) the result also carries ``attention``: the last layer's log cross-attention
    probabilities ``[B, H, Nt, Nv]`` (the last layer then runs without activation checkpointing,
    and its queries and keys are computed a second time for them).
    """

    def __init__(self, embed_dims=768, vision_dims=None, num_heads=12, num_layers=6,
                 mlp_ratio=4.0, dropout=0.0, with_cp=False, vision_pos=None, init_cfg=None):
        super().__init__(embed_dims, vision_dims, num_heads, num_layers, mlp_ratio, with_cp,
                         project_vision=False, vision_pos=vision_pos, init_cfg=init_cfg)
        self.layers = nn.ModuleList(
            CrossAttentionLayer(embed_dims, num_heads, kv_dims=self.vision_dims,
                                mlp_ratio=mlp_ratio, dropout=dropout)
            for _ in range(num_layers))
        self.keep_attention = False

    def forward(self, vision, text):
        v, t = self._inputs(vision, text)                              # [B, Nv, Cv], [B, Nt, C]
        *first, last = self.layers
        for layer in first:
            t = maybe_checkpoint(lambda t_, v_, lyr=layer: lyr(t_, v_, text.mask, vision.mask),
                                 t, v, with_cp=self.with_cp)           # [B, Nt, C]
        attention = None
        if self.keep_attention:
            t = last.attend_self(t, text.mask)
            attention = last.cross.attn.log_weights(t, v, vision.mask)  # [B, H, Nt, Nv]
            t = last.attend_cross(t, v, vision.mask)
        else:
            t = maybe_checkpoint(lambda t_, v_: last(t_, v_, text.mask, vision.mask),
                                 t, v, with_cp=self.with_cp)
        return Features(tokens=t, mask=text.mask, pooled=t[:, 0], attention=attention)
