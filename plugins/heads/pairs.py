"""Helpers of the joint pre-training heads (ITC, ITM, MLM); nothing here is registered.

ITM and MLM pair the modalities anew (negative pairs, masked text) with the composed model's
data-flow API (``model.encoder_features``, ``model.pair``; :mod:`mplug_registry.model.flow`); what
remains here is batch bookkeeping: identities of samples and gathering across processes.
"""
import zlib

import torch
import torch.distributed as dist


def sample_ids(data_samples, field, device):
    """``[B]`` int64 identities from a data-sample field (int, 0-d tensor or str).

    Strings are mapped by CRC-32, which, unlike ``hash``, is the same in every process.
    """
    out = []
    for sample in data_samples:
        value = sample.get(field)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = int(value)
        if isinstance(value, str):
            value = zlib.crc32(value.encode('utf-8'))
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"every data sample needs an int or str '{field}' (id_field), "
                             f'got {value!r}')
        out.append(value)
    return torch.tensor(out, dtype=torch.long, device=device)


@torch.no_grad()
def concat_all_gather(tensor):
    """Rows of ``tensor`` from every process, in rank order (ALBEF's ``concat_all_gather``).

    Returns ``tensor`` itself when ``torch.distributed`` is not initialised or has one process.
    Ranks may hold different numbers of rows (an uneven last batch). No gradient flows.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    world = dist.get_world_size()
    size = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(s) for s in sizes]
    padded = tensor.new_zeros((max(sizes), ) + tuple(tensor.shape[1:]))
    padded[:tensor.shape[0]] = tensor
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded.contiguous())
    return torch.cat([g[:n] for g, n in zip(gathered, sizes)])
