"""Fixed 2-D sine-cosine codes of a patch grid (shared by the modules that add them)."""
import functools
import math

import torch


def grid_sincos(grid, dims, device=None, dtype=None):
    """Fixed position codes ``[1 + T*h*w, dims]`` of the tokens of a patch grid ``(T, h, w)``
    laid out as ``[first token; frame 1 row by row; frame 2 ...]``; the first token (CLS) gets
    zeros, every frame the same spatial code.

    Each axis gets ``dims / 2`` entries: ``sin(w_k u), cos(w_k u)`` of the patch centre's
    normalised coordinate ``u = (i + 0.5) / n`` in ``(0, 1)``, for ``dims / 4`` frequencies
    ``w_k`` spaced geometrically from ``pi / 2`` (a quarter period across the image, so that the
    lowest pair is monotonic in ``u``: "leftmost" or "above" is a linear readout) to
    ``pi * n / 2`` (a period of four patches). The NeRF/Transformer Fourier features on the
    image's own scale rather than the fixed 10000-based wavelengths of MAE, whose lowest
    frequencies are flat across a small grid.
    """
    codes = _grid_sincos(tuple(int(v) for v in grid), int(dims))
    return codes.to(device=device, dtype=dtype or torch.get_default_dtype(), copy=True)


@functools.lru_cache(maxsize=32)
def _grid_sincos(grid, dims):
    """float64 codes of :func:`grid_sincos`, computed once per ``(grid, dims)`` (a fusion module
    asks for them in every forward; callers get a copy)."""
    frames, h, w = grid
    if dims % 4:
        raise ValueError(f'2-D sine-cosine position codes need a width divisible by 4, got {dims}')
    n = dims // 4

    def axis(size):                                                # [size, dims / 2]
        u = (torch.arange(size, dtype=torch.float64) + 0.5) / size
        top = max(size, 2)
        freqs = (math.pi / 2) * top ** (torch.arange(n, dtype=torch.float64) / max(n - 1, 1))
        angles = u[:, None] * freqs[None]                          # [size, n]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    ys, xs = axis(h), axis(w)
    codes = torch.cat([ys[:, None].expand(h, w, -1), xs[None].expand(h, w, -1)], dim=-1)
    codes = codes.reshape(h * w, dims).repeat(frames, 1)           # [T*h*w, dims]
    return torch.cat([codes.new_zeros(1, dims), codes])            # [1 + T*h*w, dims]
