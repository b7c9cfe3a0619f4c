"""``SimpleFeaturePyramid``: the multi-scale maps of a plain ViT (ViTDet, Li et al., 2022, §3).

A plain ViT has one map at stride ``p`` (the patch size). ViTDet builds the pyramid from that
last map alone: deconvolutions for the finer levels (scale 4: two, scale 2: one), the map itself
(scale 1) and max-pooling for the coarser ones (scale 0.5; 0.25 for a patch-8 ViT, whose
scales ``(2, 1, 0.5, 0.25)`` give the same strides 4-32 as ViT-B/16's), each followed by a 1x1 and a 3x3
convolution to ``out_dims`` channels with a channel LayerNorm (ViTDet Fig. 1c, no FPN lateral
connections). mPLUG-2 composes detection and segmentation from the image encoder + universal
layers with such a neck in front of the toolbox's heads.
"""
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseNeck
from mplug_registry.model.flow import token_maps
from mplug_registry.registry import MODELS

SCALES = (4.0, 2.0, 1.0, 0.5, 0.25)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of ``[B, C, H, W]`` maps."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _resample(dims, scale):
    """The layers that bring a stride-``p`` map to stride ``p / scale``."""
    if scale == 4.0:
        return [nn.ConvTranspose2d(dims, dims // 2, 2, stride=2), LayerNorm2d(dims // 2),
                nn.GELU(), nn.ConvTranspose2d(dims // 2, dims // 4, 2, stride=2)]
    if scale == 2.0:
        return [nn.ConvTranspose2d(dims, dims // 2, 2, stride=2)]
    if scale == 1.0:
        return []
    return [nn.MaxPool2d(int(1 / scale), stride=int(1 / scale))]


@MODELS.register_module()
class SimpleFeaturePyramid(BaseNeck):
    """Maps at ``scales`` x the patch grid from vision features (see the module docstring).

    Args:
        in_dims: width of the vision tokens (the encoder's or universal layers' output).
        out_dims: channels of every output map (256, ViTDet).
        scales: each in ``(4, 2, 1, 0.5, 0.25)``, finest first (ViTDet: ``(4, 2, 1, 0.5)``:
            strides 4-32 of a ViT-B/16; ``(2, 1, 0.5, 0.25)`` for patch 8).

    ``forward(vision: Features) -> tuple`` of ``[B, out_dims, h * s, w * s]`` for each scale
    ``s``, with ``(1, h, w) = vision.grid`` (one image per sample; the first token is dropped).
    """

    def __init__(self, in_dims=768, out_dims=256, scales=SCALES[:4], init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check_positive('in_dims', in_dims)
        check_positive('out_dims', out_dims)
        scales = tuple(float(s) for s in scales)
        if not scales or any(s not in SCALES for s in scales):
            raise ValueError(f'scales must be taken from {SCALES}, got {scales!r}')
        if in_dims % 4:
            raise ValueError(f'in_dims must be a multiple of 4 (the deconvolutions halve it), '
                             f'got {in_dims}')
        self.scales = scales
        self.in_dims, self.out_dims = {'vision': in_dims}, {'maps': out_dims}
        widths = {4.0: in_dims // 4, 2.0: in_dims // 2, 1.0: in_dims, 0.5: in_dims, 0.25: in_dims}
        self.levels = nn.ModuleList(
            nn.Sequential(*_resample(in_dims, s),
                          nn.Conv2d(widths[s], out_dims, 1, bias=False), LayerNorm2d(out_dims),
                          nn.Conv2d(out_dims, out_dims, 3, padding=1, bias=False),
                          LayerNorm2d(out_dims))
            for s in scales)

    def forward(self, vision):
        x = token_maps(vision)                                           # [B, C, h, w]
        return tuple(level(x) for level in self.levels)                  # [B, D, h*s, w*s] each
