"""``BertTokenizer``: the text tokenizer used by the data preprocessor and the text heads.

A plain object (not a module, no parameters) around ``transformers.AutoTokenizer`` loaded from a
local directory; ``transformers`` is imported in the constructor only.
"""
import os

from mplug_registry.registry import MODELS


@MODELS.register_module(kind='other')
class BertTokenizer:
    """WordPiece tokenizer of a local BERT checkpoint directory (nothing is downloaded).

    Args:
        path: directory with the tokenizer files (``vocab.txt`` / ``tokenizer.json``).

    ``tokenizer(texts, max_length=40)`` -> ``dict(input_ids=LongTensor [B, L],
    attention_mask=LongTensor [B, L])``: ``[CLS] text [SEP]``, truncated to ``max_length`` and
    padded to the longest text of the batch. ``decode(ids)`` drops special tokens.
    """

    def __init__(self, path):
        if not os.path.isdir(str(path)):
            raise ValueError(f"tokenizer directory '{path}' does not exist")
        from transformers import AutoTokenizer
        self.path = str(path)
        try:
            self._tok = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError) as err:  # no tokenizer files in the directory
            reason = ' '.join(str(err).split())
            raise ValueError(f"cannot load a tokenizer from '{path}': {reason}") from err

    def __call__(self, texts, max_length=40):
        if isinstance(texts, str):
            raise ValueError('BertTokenizer takes a list of strings, got a single string')
        enc = self._tok(list(texts), padding='longest', truncation=True, max_length=max_length,
                        return_tensors='pt')
        return dict(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'])

    def decode(self, ids):
        """One sequence of ids (list or 1-D tensor) -> text without special tokens."""
        if hasattr(ids, 'tolist'):
            ids = ids.tolist()
        return self._tok.decode(ids, skip_special_tokens=True)

    @property
    def vocab_size(self):
        return len(self._tok)

    @property
    def pad_token_id(self):
        return self._tok.pad_token_id

    @property
    def cls_token_id(self):
        return self._tok.cls_token_id

    @property
    def sep_token_id(self):
        return self._tok.sep_token_id

    @property
    def mask_token_id(self):
        return self._tok.mask_token_id

    def __repr__(self):
        return f"BertTokenizer(path='{self.path}', vocab_size={self.vocab_size})"
