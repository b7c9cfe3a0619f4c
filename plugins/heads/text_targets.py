"""Helpers shared by the heads that decode text through the ``decoder`` slot (``LMHead``,
``VQAHead``): their base class (build-time check of the tokenizer and the memory) and the framing
of texts as decoder targets."""
import torch

from mplug_registry.errors import ConfigError
from mplug_registry.model.base import BaseHead


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

    def bind(self, model, name=None):
        """Check, at build time, the tokenizer and the slots producing the decoder's memory."""
        super().bind(model, name)
        if model.tokenizer is None:
            raise ConfigError('model.data_preprocessor.tokenizer', f"head '{self.name}' "
                              f'({type(self).__name__}) needs a tokenizer, but the data '
                              'preprocessor has none')
        self.requires = ('decoder', *model.memory_streams(self))

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def decoder_and_memory(self, feats):
        """The decoder of the batch and its memory :class:`Features` (joined streams)."""
        return self.model.decoder_memory(feats, type(self).__name__)
