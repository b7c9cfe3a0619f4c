"""Temporal modules of :class:`~mplug_registry_plugins.encoders.vision.DualVisionEncoder`, chosen in
config (``temporal=dict(type=...)``; mPLUG-2 Table 15 compares them):

* :class:`LocalTemporal`: the local temporal module (LT) of mPLUG-2 eqs. (4)-(5), the default;
* :class:`TemporalSelfAttention`: self-attention over the frames at each spatial location
  (divided space-time attention, Bertasius et al. 2021) with learned frame-position embeddings;
* :class:`TemporalConv`: one dense temporal convolution over all channels (LT with a single
  group, no per-group projection: "restricted in the same temporal representation space");
* ``temporal=None``: no temporal module; frames are only pooled.

Each maps pre-normalised frame tokens ``[B*T, N, C]`` to a residual update of the same shape,
``x + module(x, T)`` (eq. 1), and starts as zero (its output projection is zero-initialised), so a
new module is the identity: a CLIP image checkpoint loads into any choice and a video then equals
its frames encoded as images until the module trains.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.registry import MODELS


def _zero(linear):
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


def _frames_last(x, num_frames):
    """``[B*T, N, C]`` -> ``[B*N, C, T]`` (each spatial location's sequence over time)."""
    bt, n, c = x.shape
    return x.view(bt // num_frames, num_frames, n, c).permute(0, 2, 3, 1).reshape(-1, c,
                                                                                  num_frames)


def _frames_back(y, num_frames, n):
    """Inverse of :func:`_frames_last`: ``[B*N, C, T]`` -> ``[B*T, N, C]``."""
    c = y.shape[1]
    return y.view(-1, n, c, num_frames).permute(0, 3, 1, 2).reshape(-1, n, c)


@MODELS.register_module(kind='other')
class LocalTemporal(nn.Module):
    """Multi-group local temporal fusion, mPLUG-2 eqs. (4)-(5).

    ``V_g = ReLU(A_g * phi_g(V))`` for each of ``G`` groups (``phi``: linear, ``A_g``: a temporal
    convolution of kernel ``k`` over frames at the same spatial location), then
    ``LT(V) = varphi(Concat[V_1..V_G])``; ``varphi`` is zero-initialised.

    Args:
        width: channels C.
        groups: G, a divisor of C (default ``None``: G = C, the paper's choice, appendix B.1).
        kernel_size: temporal kernel size k of ``A_g`` (odd).
    """

    def __init__(self, width, groups=None, kernel_size=3):
        super().__init__()
        groups = groups or width
        if groups < 1 or width % groups:
            raise ValueError(f'lt_groups={groups} must be a positive divisor of the width {width}')
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'lt_kernel_size={kernel_size} must be a positive odd number')
        self.norm = nn.LayerNorm(width)
        self.phi = nn.Linear(width, width)                      # phi_g for all groups at once
        self.temporal = nn.Conv1d(width, width, kernel_size, padding=kernel_size // 2,
                                  groups=groups)                # A_g, one block per group
        self.varphi = _zero(nn.Linear(width, width))

    def forward(self, x, num_frames):  # x: [B*T, N, C] -> [B*T, N, C]
        y = _frames_last(self.phi(self.norm(x)), num_frames)   # [B*N, C, T]
        y = F.relu(self.temporal(y))
        return self.varphi(_frames_back(y, num_frames, x.shape[1]))


@MODELS.register_module(kind='other')
class TemporalConv(nn.Module):
    """A dense temporal convolution over all channels at each spatial location:
    ``varphi(A * LN(V))`` with ``A`` a ``C -> C`` convolution of kernel ``k`` over frames
    (one group), ``varphi`` zero-initialised."""

    def __init__(self, width, kernel_size=3):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'kernel_size={kernel_size} must be a positive odd number')
        self.norm = nn.LayerNorm(width)
        self.temporal = nn.Conv1d(width, width, kernel_size, padding=kernel_size // 2)
        self.varphi = _zero(nn.Linear(width, width))

    def forward(self, x, num_frames):
        y = self.temporal(_frames_last(self.norm(x), num_frames))   # [B*N, C, T]
        return self.varphi(_frames_back(y, num_frames, x.shape[1]))


@MODELS.register_module(kind='other')
class TemporalSelfAttention(nn.Module):
    """Self-attention over the ``T`` frames at each spatial location (TimeSformer's divided
    attention): ``out(MHSA(LN(V) + E_t))`` with learned frame embeddings ``E_t`` (attention alone is
    blind to order; clips longer than ``max_frames`` interpolate them) and ``out``
    zero-initialised.

    Args:
        width: channels C.
        heads: attention heads (a divisor of C; default: C / 64, at least 1).
        max_frames: frame embeddings learned.
    """

    def __init__(self, width, heads=None, max_frames=32):
        super().__init__()
        heads = heads or max(1, width // 64)
        check_positive('max_frames', max_frames)
        if heads < 1 or width % heads:
            raise ValueError(f'width {width} is not divisible by heads={heads}')
        self.heads = heads
        self.norm = nn.LayerNorm(width)
        self.frame_embed = nn.Parameter(0.02 * torch.randn(max_frames, width))
        self.qkv = nn.Linear(width, 3 * width)
        self.out = _zero(nn.Linear(width, width))

    def frame_embedding(self, num_frames):
        embed = self.frame_embed
        if num_frames != embed.shape[0]:
            if num_frames < embed.shape[0]:
                return embed[:num_frames]
            embed = F.interpolate(embed.t()[None], size=num_frames, mode='linear',
                                  align_corners=True)[0].t()
        return embed

    def forward(self, x, num_frames):
        n = x.shape[1]
        y = _frames_last(self.norm(x), num_frames).transpose(1, 2)       # [B*N, T, C]
        y = y + self.frame_embedding(num_frames).to(y.dtype)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2)
                   for t in self.qkv(y).chunk(3, -1))                    # [B*N, H, T, C/H]
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)   # [B*N, T, C]
        return self.out(_frames_back(y.transpose(1, 2), num_frames, n))


#: config names of the built-in temporal modules (``temporal=`` of DualVisionEncoder)
TEMPORAL_MODULES = ('LocalTemporal', 'TemporalSelfAttention', 'TemporalConv')


def build_temporal(cfg, width):
    """A temporal module from ``cfg`` (``dict(type=..., **args)``, ``width`` filled in) or None."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f"temporal must be None or dict(type=...) naming a temporal module (e.g. "
                         f"{', '.join(TEMPORAL_MODULES)}), got {cfg!r}")
    return MODELS.build(dict(cfg, width=width))
