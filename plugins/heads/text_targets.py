"""Helpers shared by the heads that decode text through the ``decoder`` slot (``LMHead``,
``VQAHead``): the build-time check of the tokenizer and the memory, and the framing of texts as
decoder targets."""
import torch

from mplug_registry.errors import ConfigError
from mplug_registry.model.base import BaseHead
from mplug_registry.structures import Features
from mplug_registry_plugins.decoders.shared_decoder import memory_streams

#: the slot that produces each memory stream
PRODUCERS = {'fused': 'fusion', 'vision': 'vision_encoder', 'text': 'text_encoder'}


def check_decoding_head(head, model):
    """For ``head.bind``: the model has a tokenizer and fills the slot producing the decoder's
    memory; returns its memory streams (one-line :class:`ConfigError` naming the key otherwise)."""
    name = next((n for n, h in model.heads.items() if h is head), type(head).__name__)
    kind = type(head).__name__
    if getattr(model.data_preprocessor, 'tokenizer', None) is None:
        raise ConfigError('model.data_preprocessor.tokenizer', f"head '{name}' ({kind}) needs a "
                          'tokenizer, but the data preprocessor has none')
    streams = memory_streams(model.decoder.memory_stream)
    for part in streams:
        slot = PRODUCERS.get(part)
        if slot is not None and getattr(model, slot) is None:
            raise ConfigError(f'model.{slot}', f"head '{name}' ({kind}) decodes from {part} "
                              f"features (the decoder's memory_stream), but the config has no "
                              f'`model.{slot}`')
    return streams


def decoder_and_memory(head, feats):
    """The decoder of the batch and its memory :class:`Features` (``decoder.memory_stream``;
    several streams are concatenated along the tokens, with their masks)."""
    decoder = feats.decoder if feats.decoder is not None else head.model.decoder
    parts = [feats.require(p, type(head).__name__) for p in memory_streams(decoder.memory_stream)]
    if len(parts) == 1:
        return decoder, parts[0]
    masks = None
    if any(p.mask is not None for p in parts):
        masks = torch.cat([(p.mask if p.mask is not None else
                            p.tokens.new_ones(p.tokens.shape[:2])).long() for p in parts], dim=1)
    return decoder, Features(tokens=torch.cat([p.tokens for p in parts], dim=1), mask=masks)


def frame_texts(tokenizer, texts, decoder, device, max_length):
    """``texts`` -> ids ``[R, L]`` and mask of ``text..., eos, pad`` (no bos), right-padded.

    The tokenizer's rows may or may not carry BERT's ``[CLS] ... [SEP]``: a leading bos is dropped
    and an end token is added where a (truncated) row lacks one, with the decoder's ids.
    """
    tok = tokenizer(list(texts), max_length=max_length)
    ids, mask = tok['input_ids'].to(device).long(), tok['attention_mask'].to(device).long()
    if bool((ids[:, 0] == decoder.bos_token_id).all()):
        ids, mask = ids[:, 1:], mask[:, 1:]                       # drop [CLS]
    lengths = mask.sum(dim=1)                                     # [R]
    rows = torch.arange(ids.shape[0], device=device)
    last = ids[rows, (lengths - 1).clamp(min=0)]
    missing = (last != decoder.eos_token_id) | (lengths == 0)     # rows without an end token
    if bool(missing.any()):
        pad = ids.new_full((ids.shape[0], 1), decoder.pad_token_id)
        ids, mask = torch.cat([ids, pad], dim=1), torch.cat([mask, torch.zeros_like(pad)], 1)
        ids[rows[missing], lengths[missing]] = decoder.eos_token_id
        mask[rows[missing], lengths[missing]] = 1
    ids = ids.masked_fill(mask == 0, decoder.pad_token_id)
    return ids, mask


def with_bos(ids, mask, decoder):
    """Prepend the decoder's bos to framed rows: ``[R, L]`` -> ``[R, 1+L]`` (ids and mask)."""
    bos = ids.new_full((ids.shape[0], 1), decoder.bos_token_id)
    return torch.cat([bos, ids], dim=1), torch.cat([torch.ones_like(bos), mask], dim=1)


class DecodingHead(BaseHead):
    """Base of the heads that produce text through the shared decoder (``LMHead``, ``VQAHead``)."""

    def bind(self, model):
        """Check, at build time, the tokenizer and the slot producing the decoder's memory."""
        super().bind(model)
        self.requires = ('decoder', *check_decoding_head(self, model))

    @property
    def tokenizer(self):
        return self.model.data_preprocessor.tokenizer
