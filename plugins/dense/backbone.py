"""``DualVisionBackbone``: mPLUG-2's image encoder (+ universal layers) as an mmdet / mmseg backbone.

mPLUG-2 Table 2 composes detection and segmentation from the image encoder and the universal layers
with the heads of the established toolboxes. Inside an mmdet or mmseg model this backbone runs
:class:`DualVisionEncoder` on ``[B, 3, H, W]`` (any size: the input is padded to the patch size
and the position embedding interpolated), optionally :class:`UniversalLayers` on the vision tokens,
then a neck of ours (ViTDet's :class:`SimpleFeaturePyramid` by default) that turns the single
stride-``p`` map into the multi-scale maps the toolbox's necks and heads read.

Attention is global in every block, or windowed as in ViTDet (Li et al., 2022, §3): blocks not in
``global_attn_indexes`` attend within ``window_size x window_size`` windows of the patch grid;
there the CLS token joins every window and its outputs are averaged, so a CLIP checkpoint's blocks
see the token layout they were trained on.
"""
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from mplug_registry.builder import build_component
from mplug_registry.model.base import BaseEncoder
from mplug_registry.registry import MODELS, SCOPE
from mplug_registry.structures import Features
from mplug_registry_plugins.layers import maybe_checkpoint


def window_partition(x, h, w, size):
    """``[B, 1+h*w, C]`` -> ``[B*nW, 1+size*size, C]`` (CLS joins each window; zero padding)."""
    b, _, c = x.shape
    cls, grid = x[:, :1], x[:, 1:].reshape(b, h, w, c)
    ph, pw = -h % size, -w % size
    grid = F.pad(grid, (0, 0, 0, pw, 0, ph))                          # [B, H', W', C]
    nh, nw = (h + ph) // size, (w + pw) // size
    win = grid.reshape(b, nh, size, nw, size, c).permute(0, 1, 3, 2, 4, 5)
    win = win.reshape(b * nh * nw, size * size, c)
    cls = cls.repeat_interleave(nh * nw, dim=0)                       # [B*nW, 1, C]
    return torch.cat([cls, win], dim=1), (nh, nw)


def window_unpartition(x, b, h, w, size, nh, nw):
    """Inverse of :func:`window_partition`: CLS outputs averaged over the windows."""
    c = x.shape[-1]
    cls = x[:, :1].reshape(b, nh * nw, 1, c).mean(dim=1)              # [B, 1, C]
    grid = x[:, 1:].reshape(b, nh, nw, size, size, c).permute(0, 1, 3, 2, 4, 5)
    grid = grid.reshape(b, nh * size, nw * size, c)[:, :h, :w]
    return torch.cat([cls, grid.reshape(b, h * w, c)], dim=1)


@MODELS.register_module()
class DualVisionBackbone(BaseEncoder):
    """Image encoder (+ universal layers) + simple pyramid, returning a tuple of maps.

    Args:
        encoder: config of the image encoder (``DualVisionEncoder``; its ``pretrained=`` loads a
            local CLIP state dict).
        universal: optional config of ``UniversalLayers`` run on the vision tokens alone
            (``embed_dims`` = the encoder's width).
        neck: config of the neck of ours that makes the maps (``SimpleFeaturePyramid``;
            ``in_dims`` defaults to the encoder's width); ``None`` returns the one stride-``p`` map.
        window_size: side of the attention windows in patches; ``None`` = global attention in every
            block.
        global_attn_indexes: blocks that keep global attention when windows are used (ViTDet
            ViT-B: ``(2, 5, 8, 11)``).
        frozen: freeze the encoder (and universal layers): train only the neck and the heads.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``.

    ``forward(images [B, 3, H, W]) -> tuple`` of ``[B, C_i, ceil(H/p)*s_i, ceil(W/p)*s_i]``.
    """
    modality = 'vision'

    def __init__(self, encoder=dict(type='DualVisionEncoder', arch='base'), universal=None,
                 neck=dict(type='SimpleFeaturePyramid', out_dims=256),
                 window_size=None, global_attn_indexes=(), frozen=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        # built by an mmdet / mmseg model, whose scope is the default one now: our parts (and what
        # they build inside, e.g. the temporal modules) are looked up in our scope
        with DefaultScope.overwrite_default_scope(SCOPE):
            self.encoder = build_component(encoder, 'backbone.encoder', 'encoder')
            width = self.encoder.width
            if universal is not None:
                universal = dict(universal)
                universal.setdefault('embed_dims', width)
            self.universal = None if universal is None else \
                build_component(universal, 'backbone.universal', 'universal')
            if neck is not None:
                neck = dict(neck)
                neck.setdefault('in_dims', width)
            self.neck = None if neck is None else build_component(neck, 'backbone.neck', 'neck')
        layers = len(self.encoder.transformer.resblocks)
        if window_size is not None and (not isinstance(window_size, int) or window_size < 1):
            raise ValueError(f'window_size must be a positive integer or None, got {window_size!r}')
        bad = [i for i in global_attn_indexes if not 0 <= i < layers]
        if bad:
            raise ValueError(f'global_attn_indexes {bad} are not blocks of the encoder '
                             f'(0..{layers - 1})')
        self.window_size = window_size
        self.global_attn_indexes = tuple(global_attn_indexes)
        self.frozen = frozen
        self.in_dims = {}
        self.out_dims = {'maps': neck['out_dims'] if neck is not None and 'out_dims' in neck
                         else getattr(self.neck, 'out_dims', {}).get('maps', width)}
        if frozen:
            for module in (self.encoder, self.universal):
                if module is not None:
                    module.requires_grad_(False)

    def windowed(self, index):
        return self.window_size is not None and index not in self.global_attn_indexes

    def forward(self, images):
        p = self.encoder.patch_size
        images = F.pad(images, (0, -images.shape[-1] % p, 0, -images.shape[-2] % p))
        x, (_, h, w) = self.encoder.embed(images)                      # [B, 1+h*w, C]
        b, with_cp = x.shape[0], self.encoder.with_cp
        for i, block in enumerate(self.encoder.transformer.resblocks):
            if self.windowed(i):
                win, (nh, nw) = window_partition(x, h, w, self.window_size)
                win = maybe_checkpoint(block, win, with_cp=with_cp)
                x = window_unpartition(win, b, h, w, self.window_size, nh, nw)
            else:
                x = maybe_checkpoint(block, x, with_cp=with_cp)
        x = self.encoder.ln_post(x)
        vision = Features(tokens=x, pooled=x[:, 0], grid=(1, h, w))
        if self.universal is not None:
            vision, _ = self.universal(vision, None)
        if self.neck is None:
            tokens = vision.tokens[:, 1:]
            return (tokens.transpose(1, 2).reshape(b, -1, h, w), )
        return tuple(self.neck(vision))

    def train(self, mode=True):
        super().train(mode)
        if self.frozen:   # frozen parts stay in eval mode (BatchNorm of a conv stem, dropout)
            for module in (self.encoder, self.universal):
                if module is not None:
                    module.eval()
        return self
