"""``SkipConnectedFusion`` (mPLUG §3.2, Algorithm 1) and the single-stream baseline."""
import torch
from torch import nn

from mplug_registry.registry import MODELS
from mplug_registry_plugins.layers import SelfAttentionBlock, maybe_checkpoint

from .blocks import CrossAttentionLayer, FusionBase, concat_masks

ASYM, CONNECTED = 'asym', 'connected'


def skip_connected_schedule(num_layers, stride):
    """Layer types of Algorithm 1: layer ``i`` (1-based) is connected iff ``i % (S + 1) == 0``."""
    return tuple(CONNECTED if i % (stride + 1) == 0 else ASYM for i in range(1, num_layers + 1))


@MODELS.register_module()
class SkipConnectedFusion(FusionBase):
    """Cross-modal skip-connected network of mPLUG (§3.2, eqs. 1-5, Algorithm 1).

    Every ``S + 1``-th layer (``S`` = ``stride``) is a *connected-attention* layer, SA + FFN over
    ``[vision; text]`` (eqs. 4-5), whose output is split back into the two streams; the other
    layers are *asymmetric co-attention* layers, text SA -> CA to vision -> FFN (eqs. 1-3), which
    leave the visual tokens untouched. So the long visual sequence is only processed every
    ``S + 1`` layers. :attr:`schedule` lists ``'asym'`` / ``'connected'`` per layer.

    Args:
        embed_dims: width C of the text and of the fused sequence (768).
        vision_dims: width of the visual features; when it differs from ``embed_dims`` a declared
            linear projection maps them to C (the streams are concatenated).
        num_heads: attention heads (12).  num_layers: fusion layers T (6, as in mPLUG).
        stride: S (default 3, mPLUG's ViT-B setting, best accuracy in §5.3.1; mPLUG ViT-L uses
            6, which with 6 layers leaves no connected layer). ``stride=0`` makes every layer
            connected (:class:`ConnectedAttentionFusion`).
        mlp_ratio: FFN hidden size / C (4).  dropout: attention and FFN dropout.
        with_cp: activation checkpointing per layer.
        vision_pos: ``'sincos'`` adds fixed 2-D position codes to the visual tokens (see
            :class:`~.blocks.FusionBase`); ``None`` (default) reads them as they come.

    ``forward(vision, text)`` returns :class:`Features` of the final connected representation
    ``[vision; text]`` (what the decoder cross-attends to): ``tokens`` ``[B, Nv+Nt, C]``,
    ``mask`` ``[B, Nv+Nt]`` (``vision.mask`` or all ones, then ``text.mask``; ``None`` when both
    are ``None``), ``pooled`` = the fused text [CLS], ``tokens[:, Nv]``. Padded text positions
    (``text.mask == 0``) are never attended to, in any layer.
    """

    def __init__(self, embed_dims=768, vision_dims=None, num_heads=12, num_layers=6, stride=3,
                 mlp_ratio=4.0, dropout=0.0, with_cp=False, vision_pos=None, init_cfg=None):
        if not isinstance(stride, int) or isinstance(stride, bool) or stride < 0:
            raise ValueError(f'stride must be an integer >= 0, got {stride!r}')
        super().__init__(embed_dims, vision_dims, num_heads, num_layers, mlp_ratio, with_cp,
                         project_vision=True, vision_pos=vision_pos, init_cfg=init_cfg)
        self.stride = stride
        self.schedule = skip_connected_schedule(num_layers, stride)
        self.layers = nn.ModuleList(
            SelfAttentionBlock(embed_dims, num_heads, mlp_ratio, dropout) if kind == CONNECTED
            else CrossAttentionLayer(embed_dims, num_heads, mlp_ratio=mlp_ratio, dropout=dropout)
            for kind in self.schedule)

    def forward(self, vision, text):
        v, t = self._inputs(vision, text)                              # [B, Nv, C], [B, Nt, C]
        nv, nt = v.shape[1], t.shape[1]
        both_mask = concat_masks(vision.mask, text.mask, nv, nt)       # [B, Nv+Nt]
        for kind, layer in zip(self.schedule, self.layers):
            if kind == CONNECTED:                                      # eqs. (4)-(5)
                x = maybe_checkpoint(
                    lambda v_, t_, lyr=layer: lyr(torch.cat([v_, t_], dim=1), both_mask),
                    v, t, with_cp=self.with_cp)                        # [B, Nv+Nt, C]
                v, t = x.split([nv, nt], dim=1)
            else:                                                      # eqs. (1)-(3)
                t = maybe_checkpoint(
                    lambda t_, v_, lyr=layer: lyr(t_, v_, text.mask, vision.mask),
                    t, v, with_cp=self.with_cp)                        # [B, Nt, C]
        return self._concat_output(v, t, vision.mask, text.mask)


@MODELS.register_module()
class ConnectedAttentionFusion(SkipConnectedFusion):
    """Single-stream baseline (mPLUG Fig. 1a): every layer is SA + FFN over ``[vision; text]``.

    Algorithm 1 with ``S = 0`` (eqs. 4-5 in every layer), so it shares the code of
    :class:`SkipConnectedFusion`; arguments and output are the same, without ``stride``.
    """

    def __init__(self, embed_dims=768, vision_dims=None, num_heads=12, num_layers=6,
                 mlp_ratio=4.0, dropout=0.0, with_cp=False, vision_pos=None, init_cfg=None):
        super().__init__(embed_dims, vision_dims, num_heads, num_layers, stride=0,
                         mlp_ratio=mlp_ratio, dropout=dropout, with_cp=with_cp,
                         vision_pos=vision_pos, init_cfg=init_cfg)
