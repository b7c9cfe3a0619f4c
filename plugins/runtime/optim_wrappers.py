"""``AutocastOptimWrapper``: mixed precision by ``torch.autocast`` on CPU or GPU (bf16 by default).

MMEngine's ``AmpOptimWrapper`` asserts a GPU and always scales the loss; bf16 has the range of fp32 and
needs no loss scaling, so this wrapper only enters ``torch.autocast`` around the forward pass. It is
what ``tools/train.py --amp`` selects on CPU and on GPUs with bf16 support.
"""
import contextlib

import torch
from mmengine.optim import OptimWrapper

from mplug_registry.registry import OPTIM_WRAPPERS

_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward pass runs under ``torch.autocast(dtype)``.

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'`` (GPU only; prefer MMEngine's
            ``AmpOptimWrapper`` there, which adds loss scaling).
        device_type: ``'cpu'`` or ``'cuda'``; default: cuda when available.
    """

    def __init__(self, dtype='bfloat16', device_type=None, **kwargs):
        super().__init__(**kwargs)
        if dtype not in _DTYPES:
            raise ValueError(f'dtype must be one of {sorted(_DTYPES)}, got {dtype!r}')
        self.cast_dtype = _DTYPES[dtype]
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')
        if self.device_type == 'cpu' and self.cast_dtype is torch.float16:
            raise ValueError('float16 autocast needs a GPU; use dtype="bfloat16" on CPU')

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(self.device_type, self.cast_dtype):
            yield
