"""Helpers of the joint pre-training heads (ITC, ITM, MLM); nothing here is registered.

ITM and MLM re-run part of the composed model on new image-text pairs (negative pairs, masked
text) with the same visual features. Which features that means depends on the composition:

* without universal layers, the bundle's ``vision`` / ``text`` *are* the encoder outputs;
* with universal layers (mPLUG-2 eqs. 6-10) the bundle holds their outputs, in which each modality
  has attended to the other, so pairing them anew would leak the partner text into the "image".
  The encoder outputs are then taken from ``FeatureBundle.encoded`` (the composed model keeps them
  on its way to the universal layers), and the universal layers run on every new pair.
"""
import zlib

import torch
import torch.distributed as dist

from mplug_registry.structures import Features


def select_rows(feats, index):
    """The rows ``index`` (``[R]``) of :class:`Features`."""
    pick = (lambda t: None if t is None else t[index])  # noqa: E731
    return Features(tokens=feats.tokens[index], mask=pick(feats.mask), pooled=pick(feats.pooled),
                    grid=feats.grid)


def cat_rows(*feats):
    """Concatenate :class:`Features` along the batch; a missing mask means all tokens kept."""
    masks = None
    if any(f.mask is not None for f in feats):
        masks = torch.cat([f.mask if f.mask is not None else
                           f.tokens.new_ones(f.tokens.shape[:2], dtype=torch.long) for f in feats])
    pooled = None if any(f.pooled is None for f in feats) else torch.cat([f.pooled for f in feats])
    return Features(tokens=torch.cat([f.tokens for f in feats]), mask=masks, pooled=pooled,
                    grid=feats[0].grid)


def encoder_features(model, feats, stream):
    """``stream`` (``'vision'`` / ``'text'``) features of this batch as the encoder slot made them.

    Without universal layers this is ``feats.<stream>``. With them, it is what the composed model
    kept in ``feats.encoded`` on its way to the universal layers; a bundle made elsewhere without
    them gets the encoder run again on ``feats.inputs``, once per batch. ``None`` if the batch has
    no such input.
    """
    if model.universal is None:
        return getattr(feats, stream)
    if stream not in feats.encoded:
        if stream == 'vision':
            images = feats.inputs.get('images')
            feats.encoded[stream] = None if images is None else model.vision_encoder(images)
        else:
            text = feats.inputs.get('text')
            feats.encoded[stream] = None if text is None else model.text_encoder(**text)
    return feats.encoded[stream]


def joint_forward(model, vision, text, fuse=True):
    """Universal layers (when the model has them), then the fusion module if ``fuse``.

    ``vision`` / ``text``: encoder :class:`Features` (``vision`` may be ``None`` for text only).
    Returns ``(vision, text, fused)``; ``fused`` is ``None`` when not fused.
    """
    if model.universal is not None:
        vision, text = model.universal(vision, text)
    fused = model.fusion(vision, text) if fuse and vision is not None else None
    return vision, text, fused


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
