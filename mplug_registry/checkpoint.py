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


def _is_remote(path):
    """Whether MMEngine loads ``path`` through a URL-like backend (``https://``, ``s3://``, ...)."""
    return '://' in str(path) or str(path).startswith('pavi:')


def check_checkpoint_file(path, key='checkpoint', purpose=''):
    """Fail in one line naming the file, before anything is built, when the local ``path`` is no
    PyTorch checkpoint. ``torch.save`` writes a zip archive holding ``data.pkl`` (before torch 1.6:
    a pickle); a directory (a DeepSpeed checkpoint) or a URL is left to its loader. ``purpose``
    ends the message when the file is missing (``' to resume from'``)."""
    import os
    import zipfile

    from .errors import ConfigError
    path = str(path)
    if _is_remote(path) or os.path.isdir(path):
        return
    if not os.path.isfile(path):
        raise ConfigError(key, f"no checkpoint file at '{path}'{purpose}")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
            return
        what = 'a zip archive that torch.save did not write'
    else:
        with open(path, 'rb') as f:
            head = f.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # a pickle (torch < 1.6)
            return
        what = 'an empty file' if not head else 'a damaged or cut zip archive' \
            if head == b'PK' else 'neither the zip archive of torch.save nor a pickle'
    raise ConfigError(key, f"not a PyTorch checkpoint: '{path}'", what)


def _load_failure(err):
    """One line on why ``torch.load`` failed: a damaged archive, or (from torch's several-line
    weights-only message) the object it refuses to build."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    refused = next((line for line in lines if 'WeightsUnpickler error:' in line), None)
    if refused:
        return 'weights-only loading refused it: ' + refused.split('error:', 1)[1].strip() \
            .split('. ')[0].rstrip('.')
    return (lines[0] if lines else type(err).__name__)[:200]


def load_local_state_dict(path, map_location='cpu', key='pretrained'):
    """A state dict from a local file (``state_dict``/``model`` entries unwrapped); never downloads.
    A missing or unreadable file is a one-line ConfigError naming ``key``."""
    import os

    import torch
    from .errors import ConfigError
    if not os.path.isfile(path):
        raise ConfigError(key, f"no checkpoint file at '{path}'",
                          'weights are loaded from local paths only')
    check_checkpoint_file(path, key)
    allow_mmengine_checkpoints()
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError) as err:
        raise ConfigError(key, f"not a loadable PyTorch checkpoint: '{path}'",
                          _load_failure(err)) from err
    for entry in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and isinstance(obj.get(entry), dict):
            obj = obj[entry]
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


def slot_of(key):
    """The composition slot a state-dict key belongs to (``heads.<name>`` for heads)."""
    parts = key.split('.')
    return '.'.join(parts[:2]) if parts[0] == 'heads' and len(parts) > 1 else parts[0]


def compare_state_dicts(model_sd, ckpt_sd):
    """Per slot: ``{'loaded', 'missing', 'unexpected', 'mismatched'}`` between model and checkpoint."""
    report = {}
    for key in set(model_sd) | set(ckpt_sd):
        entry = report.setdefault(slot_of(key), dict(loaded=0, missing=[], unexpected=[],
                                                     mismatched=[]))
        if key not in ckpt_sd:
            entry['missing'].append(key)
        elif key not in model_sd:
            entry['unexpected'].append(key)
        elif tuple(ckpt_sd[key].shape) != tuple(model_sd[key].shape):
            entry['mismatched'].append((key, tuple(ckpt_sd[key].shape),
                                        tuple(model_sd[key].shape)))
        else:
            entry['loaded'] += 1
    return dict(sorted(report.items()))


def check_checkpoint(model, path):
    """Compare a checkpoint with ``model`` before loading it, slot by slot.

    Returns one line per slot that does not load completely (missing / unexpected keys). Raises a
    one-line ConfigError when the checkpoint comes from another composition (most of the model's
    tensors absent) or when shapes differ.
    """
    import os

    from .errors import ConfigError
    if os.path.isdir(path):  # DeepSpeed checkpoint directories are checked by DeepSpeed itself
        return []
    model = getattr(model, 'module', model)
    model_sd = model.state_dict()
    ckpt_sd = load_local_state_dict(path, key='checkpoint')
    if not isinstance(ckpt_sd, dict):
        raise ConfigError('checkpoint', f"'{path}' holds a {type(ckpt_sd).__name__}, not a state "
                          'dict', 'save one with torch.save(model.state_dict(), path)')
    report = compare_state_dicts(model_sd, ckpt_sd)
    mismatched = [(slot, m) for slot, e in report.items() for m in e['mismatched']]
    if mismatched:
        slot, (key, got, want) = mismatched[0]
        slots = sorted({s for s, _ in mismatched})
        raise ConfigError('checkpoint', f"'{path}' does not fit this model: {len(mismatched)} "
                          f"tensors have other shapes, in slots {', '.join(slots)} (e.g. {key}: "
                          f'{list(got)} in the checkpoint, {list(want)} in the model)',
                          'was it trained with another config?')
    loaded = sum(e['loaded'] for e in report.values())
    if model_sd and loaded < 0.5 * len(model_sd):
        ckpt_slots = sorted({slot_of(k) for k in ckpt_sd})
        model_slots = sorted({slot_of(k) for k in model_sd})
        raise ConfigError('checkpoint', f"'{path}' was saved from another composition: it has "
                          f"slots {', '.join(ckpt_slots) or 'none'}, the model has "
                          f"{', '.join(model_slots)} ({loaded}/{len(model_sd)} tensors match)")
    lines = []
    for slot, entry in report.items():
        if entry['missing'] or entry['unexpected']:
            parts = [f"{len(entry['missing'])} missing" if entry['missing'] else '',
                     f"{len(entry['unexpected'])} unexpected" if entry['unexpected'] else '']
            first = (entry['missing'] or entry['unexpected'])[0]
            lines.append(f"checkpoint slot {slot}: {entry['loaded']} loaded, "
                         f"{', '.join(p for p in parts if p)} (e.g. {first})")
    return lines
