"""``CoAttentionFusion``: the dual-stream co-attention baseline of mPLUG (Fig. 1b)."""
from torch import nn

from mplug_registry.registry import MODELS
from mplug_registry_plugins.layers import maybe_checkpoint

from .blocks import CoAttentionLayer, FusionBase


@MODELS.register_module()
class CoAttentionFusion(FusionBase):
    """Dual-stream fusion: in every layer both streams self-attend, then each cross-attends to the
    other, then each has its own FFN (:class:`~.blocks.CoAttentionLayer`, eqs. 1-3 of mPLUG run
    in both directions). Both streams are updated in every layer, so the long visual sequence is
    processed by every layer, as in :class:`ConnectedAttentionFusion`.

    Args:
        embed_dims: width C of both streams (768).
        vision_dims: width of the visual features; when it differs from ``embed_dims`` a declared
            linear projection maps them to C.
        num_heads: attention heads (12).  num_layers: fusion layers (6).
        mlp_ratio: FFN hidden size / C (4).  dropout: attention and FFN dropout.
        with_cp: activation checkpointing per layer.
        vision_pos: ``'sincos'`` adds fixed 2-D position codes to the visual tokens (see
            :class:`~.blocks.FusionBase`); ``None`` (default) reads them as they come.

    ``forward(vision, text)`` returns :class:`Features` of ``[vision; text]`` (both streams are
    fused, so a decoder cross-attends to both, as with the connected fusions): ``tokens``
    ``[B, Nv+Nt, C]``, ``mask`` ``[B, Nv+Nt]`` (``None`` when both input masks are ``None``),
    ``pooled`` = the fused text [CLS], ``tokens[:, Nv]``. The text-side tokens alone are
    ``tokens[:, Nv:]``.
    """

    def __init__(self, embed_dims=768, vision_dims=None, num_heads=12, num_layers=6,
                 mlp_ratio=4.0, dropout=0.0, with_cp=False, vision_pos=None, init_cfg=None):
        super().__init__(embed_dims, vision_dims, num_heads, num_layers, mlp_ratio, with_cp,
                         project_vision=True, vision_pos=vision_pos, init_cfg=init_cfg)
        self.layers = nn.ModuleList(
            CoAttentionLayer(embed_dims, num_heads, mlp_ratio, dropout) for _ in range(num_layers))

    def forward(self, vision, text):
        v, t = self._inputs(vision, text)                              # [B, Nv, C], [B, Nt, C]
        for layer in self.layers:
            v, t = maybe_checkpoint(lambda v_, t_, lyr=layer: lyr(v_, t_, vision.mask, text.mask),
                                    v, t, with_cp=self.with_cp)        # [B, Nv, C], [B, Nt, C]
        return self._concat_output(v, t, vision.mask, text.mask)
