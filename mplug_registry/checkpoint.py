"""Loading checkpoints under torch >= 2.6, where ``torch.load`` defaults to ``weights_only=True``.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; its own checkpoints carry the message
hub (``HistoryBuffer`` objects holding numpy arrays, and their statistics methods pickled as
``getattr(HistoryBuffer, 'mean')``) and numpy scalars, which the safe unpickler refuses, so
``--resume`` breaks. Rather than turn the safety off (``weights_only=False`` or
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), :func:`allow_mmengine_checkpoints` adds exactly the types
MMEngine writes to torch's allow-list of safe globals, and maps the pickled ``builtins.getattr`` to
:func:`history_buffer_getattr`, which only returns ``HistoryBuffer``'s registered statistics methods
(a general ``getattr`` would let a crafted file reach arbitrary code). Everything else stays refused.
"""
import functools
import pickle


def history_buffer_getattr(obj, name):
    """``getattr`` restricted to what MMEngine checkpoints need: ``HistoryBuffer`` statistics."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and (name in HistoryBuffer._statistics_methods
                                 or name in ('min', 'max', 'current', 'mean')):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'checkpoint asks for getattr({obj!r}, {name!r}); only '
                                 'HistoryBuffer statistics methods are allowed')


@functools.lru_cache(maxsize=None)
def allow_mmengine_checkpoints():
    """Allow-list the classes found in MMEngine checkpoints for ``weights_only`` loading (once)."""
    import numpy as np
    import torch
    from mmengine.logging.history_buffer import HistoryBuffer
    safe = [HistoryBuffer, np.ndarray, np.dtype]
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    safe += [_reconstruct, scalar]
    # the dtype classes numpy pickles by reference (numpy >= 1.25 has numpy.dtypes)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    safe.append((history_buffer_getattr, 'builtins.getattr'))
    torch.serialization.add_safe_globals(safe)
    return True


def load_local_state_dict(path, map_location='cpu'):
    """A state dict from a local file (``state_dict``/``model`` entries unwrapped); never downloads."""
    import os

    import torch
    from .errors import ConfigError
    if not os.path.isfile(path):
        raise ConfigError('pretrained', f"no checkpoint file at '{path}'",
                          'weights are loaded from local paths only')
    allow_mmengine_checkpoints()
    obj = torch.load(path, map_location=map_location, weights_only=True)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    return obj
