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


def use_atomic_local_writes():
    """Make MMEngine write local files (checkpoints, ``last_checkpoint``) atomically.

    MMEngine's local file backend writes in place, so a crash (kill -9, OOM, power loss) during a save
    leaves a truncated ``epoch_N.pth`` that ``--resume`` then fails on. The replacement writes a
    temporary file in the same directory, flushes and fsyncs it, then ``os.replace``-s it over the
    target, which is atomic on POSIX: a checkpoint either exists whole or not at all.
    """
    import mmengine.fileio.io as fileio_io
    from mmengine.fileio import LocalBackend, register_backend

    if getattr(fileio_io, '_mplug_atomic', False):
        return
    register_backend('local', _atomic_backend_class(LocalBackend), force=True, prefixes='')
    for key in [k for k in fileio_io.backend_instances if k.startswith(':')]:
        del fileio_io.backend_instances[key]  # cached plain local backends
    fileio_io._mplug_atomic = True


def atomic_write(data, filepath):
    """Write ``bytes`` or ``str`` to ``filepath`` via a temporary file and ``os.replace``."""
    import os
    import tempfile
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(filepath) + '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode('utf-8'))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _atomic_backend_class(base):
    class AtomicLocalBackend(base):
        """MMEngine's local backend with atomic ``put`` / ``put_text``."""

        def put(self, obj, filepath):
            atomic_write(obj, str(filepath))

        def put_text(self, obj, filepath, encoding='utf-8'):
            atomic_write(obj.encode(encoding), str(filepath))

    return AtomicLocalBackend
