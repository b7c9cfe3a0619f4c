"""``SharedTextDecoder``: the shared decoder module of mPLUG-2 (§3.1, "Shared Decoder Module").

A BERT-style Transformer decoder over an arbitrary memory: visual features for captioning, fused
features for question answering, text features for text generation (``memory_stream``). Each layer
is post-norm (BERT layout, as the mPLUG-2 universal layers, eqs. 6-10)::

    X = LN(SA_causal(X) + X);  X = LN(CA(X, M) + X);  X = LN(FFN(X) + X)

and the LM head is BERT's: ``logits = W_e · LN(GELU(Dense(X))) + b`` with ``W_e`` the word
embedding matrix (tied). Trained with the prefix / instruction language-model loss (mPLUG §3.3
PrefixLM, mPLUG-2 §3.2 instruction-based LM loss): next-token cross-entropy on the tokens after
an optional prompt. Decoding is greedy or beam search with a key/value cache
(:mod:`.generation`).
"""
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseDecoder, memory_parts
from mplug_registry.registry import MODELS
from mplug_registry_plugins.layers import FeedForward, maybe_checkpoint
from mplug_registry_plugins.layers.attention import Attention

from .generation import beam_search, greedy_search

#: size presets: BERT-Base / BERT-Large widths with the 12 decoder layers of mPLUG-2 (appendix B)
ARCH_ZOO = {
    'tiny': dict(embed_dims=64, num_layers=2, num_heads=2),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12),
    'large': dict(embed_dims=1024, num_layers=12, num_heads=16),
}
MEMORY_STREAMS = ('fused', 'vision', 'text')
LN_EPS = 1e-12   # BERT's LayerNorm epsilon


def memory_streams(memory_stream):
    """``'vision+fused'`` -> ``('vision', 'fused')``: the streams a decoder memory concatenates."""
    parts = memory_parts(memory_stream) if isinstance(memory_stream, str) else ()
    if not parts or any(p not in MEMORY_STREAMS for p in parts) or len(set(parts)) < len(parts):
        raise ValueError(f"memory_stream must be one of {MEMORY_STREAMS} or several joined by "
                         f"'+' (e.g. 'vision+fused'), got {memory_stream!r}")
    return parts


class DecoderLayer(nn.Module):
    """Causal self-attention -> cross-attention to the memory -> FFN, each ``LN(f(x) + x)``."""

    def __init__(self, dims, num_heads, memory_dims, mlp_ratio=4.0, dropout=0.1,
                 attn_dropout=0.1):
        super().__init__()
        self.self_attn = Attention(dims, num_heads, dropout=attn_dropout)
        self.norm1 = nn.LayerNorm(dims, eps=LN_EPS)
        self.cross_attn = Attention(dims, num_heads, kv_dims=memory_dims, dropout=attn_dropout)
        self.norm2 = nn.LayerNorm(dims, eps=LN_EPS)
        self.ffn = FeedForward(dims, mlp_ratio, dropout)
        self.norm3 = nn.LayerNorm(dims, eps=LN_EPS)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, memory, mask=None, memory_mask=None, cache=None):
        # x: [R, L, C] with R = G * B rows; row r reads memory row r // G (memory: [B, N, Cm])
        x = self.norm1(x + self.drop(self.self_attn(
            x, mask=mask, causal=True, cache=cache['self'] if cache else None)))
        rows, length, dims = x.shape
        # cross-attention treats every query alone, so the G rows of one memory row are folded
        # into its query axis: keys/values are computed once per memory row, never repeated
        ca = self.cross_attn(x.reshape(memory.shape[0], -1, dims), memory, mask=memory_mask,
                             cache=cache['cross'] if cache else None, cross=True)  # [B, G*L, C]
        x = self.norm2(x + self.drop(ca.reshape(rows, length, dims)))
        return self.norm3(x + self.ffn(x))


class LMPredictionHead(nn.Module):
    """BERT's ``cls.predictions``: transform (dense, GELU, LN), then the tied projection + bias."""

    def __init__(self, dims, vocab_size):
        super().__init__()
        self.dense = nn.Linear(dims, dims)
        self.act = nn.GELU()
        self.norm = nn.LayerNorm(dims, eps=LN_EPS)
        self.proj = nn.Linear(dims, vocab_size)   # weight tied to the word embeddings

    def forward(self, x):  # [..., C] -> [..., V]
        return self.proj(self.norm(self.act(self.dense(x))))


class DecodingStep:
    """One decoding step for the searches: log-probs of the next token, with or without a cache.

    With a cache, only the tokens not yet seen are fed (the whole prompt first, then one token per
    step): self-attention appends their keys/values, cross-attention computes the memory's once.
    Without, the full prefix is recomputed every step.
    """

    def __init__(self, decoder, memory, memory_mask, use_cache):
        self.decoder, self.memory, self.memory_mask = decoder, memory, memory_mask
        self.caches = [dict(self={}, cross={}) for _ in decoder.layers] if use_cache else None
        self.seen = 0

    def __call__(self, ids):  # [R, T] -> [R, V]
        new = ids[:, self.seen:] if self.caches is not None else ids
        hidden = self.decoder.hidden_states(self.memory, new, memory_mask=self.memory_mask,
                                            caches=self.caches, offset=self.seen)
        if self.caches is not None:
            self.seen = ids.shape[1]
        return self.decoder.head(hidden[:, -1]).float().log_softmax(dim=-1)

    def reorder(self, index):  # index: [R] rows to keep (beams stay within their sample)
        for cache in self.caches or ():
            cache['self']['k'] = cache['self']['k'].index_select(0, index)
            cache['self']['v'] = cache['self']['v'].index_select(0, index)


@MODELS.register_module()
class SharedTextDecoder(BaseDecoder):
    """Shared decoder module of mPLUG-2: a BERT decoder cross-attending to any memory.

    Args:
        arch: preset in :data:`ARCH_ZOO` (``base``: BERT-Base width, 12 layers, as mPLUG-2).
        embed_dims, num_layers, num_heads: override the preset.
        memory_dims: width of the memory (cross-attention keys/values); default ``embed_dims``.
        memory_stream: what the decoder reads: ``'fused'`` (VQA), ``'vision'`` (captioning) or
            ``'text'`` (text generation); streams joined by ``+`` are read concatenated along the
            tokens, e.g. ``'vision+fused'`` (mPLUG's answer decoder reads the image and the fused
            question; :func:`memory_streams`).
        vocab_size, max_position_embeddings: BERT's (30522, 512).
        bos_token_id, eos_token_id, pad_token_id: ``[CLS]`` = 101, ``[SEP]`` = 102, ``[PAD]`` = 0.
        mlp_ratio, dropout, attn_dropout: BERT's 4, 0.1, 0.1.
        init_std: std of the normal initialisation of weights and embeddings (BERT's 0.02, sized
            for width 768; at small widths it shrinks the cross-attention so much that a decoder
            trained from scratch learns a language model that ignores its memory: use about
            ``embed_dims ** -0.5`` there).
        with_cp: activation checkpointing per layer.

    Inputs ``input_ids [R, L]`` start with ``bos``; ``memory [B, N, Cm]`` with ``R = G * B``: row
    ``r`` of the text reads memory row ``r // G`` (``G = 1`` in training; ``G`` = beams in beam
    search, or candidate answers per question when ranking answers), the memory is never copied.
    """

    def __init__(self, arch='base', embed_dims=None, num_layers=None, num_heads=None,
                 memory_dims=None, memory_stream='fused', vocab_size=30522,
                 max_position_embeddings=512, bos_token_id=101, eos_token_id=102, pad_token_id=0,
                 mlp_ratio=4.0, dropout=0.1, attn_dropout=0.1, init_std=0.02, with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check_positive('init_std', init_std, integer=False)
        if arch not in ARCH_ZOO:
            raise ValueError(f"unknown arch '{arch}', choose from {sorted(ARCH_ZOO)}")
        memory_streams(memory_stream)                       # validates
        spec = dict(ARCH_ZOO[arch])
        spec.update({k: v for k, v in dict(embed_dims=embed_dims, num_layers=num_layers,
                                            num_heads=num_heads).items() if v is not None})
        memory_dims = memory_dims or spec['embed_dims']
        sizes = dict(spec, memory_dims=memory_dims, vocab_size=vocab_size,
                     max_position_embeddings=max_position_embeddings)
        for name, value in sizes.items():
            check_positive(name, value)
        for name, value in dict(bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                                pad_token_id=pad_token_id).items():
            if not 0 <= value < vocab_size:
                raise ValueError(f'{name}={value} is outside the vocabulary (size {vocab_size})')
        dims = self.embed_dims = spec['embed_dims']
        self.memory_stream = memory_stream
        self.bos_token_id, self.eos_token_id = bos_token_id, eos_token_id
        self.pad_token_id = pad_token_id
        self.with_cp = with_cp
        self.word_embeddings = nn.Embedding(vocab_size, dims, padding_idx=pad_token_id)
        self.position_embeddings = nn.Embedding(max_position_embeddings, dims)
        self.embed_norm = nn.LayerNorm(dims, eps=LN_EPS)
        self.embed_drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            DecoderLayer(dims, spec['num_heads'], memory_dims, mlp_ratio, dropout, attn_dropout)
            for _ in range(spec['num_layers']))
        self.head = LMPredictionHead(dims, vocab_size)
        self.apply(partial(_init_bert, std=init_std))
        self.head.proj.weight = self.word_embeddings.weight          # tied (BERT, mPLUG)
        self.in_dims = {'memory': memory_dims}
        self.out_dims = {}

    @property
    def vocab_size(self):
        return self.word_embeddings.num_embeddings

    @property
    def special_token_ids(self):
        """``{'cls': bos, 'sep': eos, 'pad': pad}``: the tokenizer ids these must equal (checked
        when the model is built)."""
        return dict(cls=self.bos_token_id, sep=self.eos_token_id, pad=self.pad_token_id)

    # ------------------------------------------------------------------ forward and loss
    def hidden_states(self, memory, input_ids, attention_mask=None, memory_mask=None,
                      caches=None, offset=0):
        """Last-layer states ``[R, L, C]``; ``offset`` is the position of ``input_ids[:, 0]``."""
        if memory.dim() != 3 or input_ids.shape[0] % memory.shape[0]:
            raise ValueError(f'memory must be [B, N, C] with B dividing the {input_ids.shape[0]} '
                             f'text rows, got {tuple(memory.shape)}')
        length = input_ids.shape[1]
        if offset + length > self.position_embeddings.num_embeddings:
            raise ValueError(f'sequence of {offset + length} tokens is longer than '
                             f'max_position_embeddings={self.position_embeddings.num_embeddings}')
        pos = torch.arange(offset, offset + length, device=input_ids.device)     # [L]
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos)      # [R, L, C]
        x = self.embed_drop(self.embed_norm(x))
        memory = memory.to(x.dtype)
        for i, layer in enumerate(self.layers):
            cache = caches[i] if caches is not None else None
            x = maybe_checkpoint(
                lambda h, m, f=layer, c=cache: f(h, m, attention_mask, memory_mask, c),
                x, memory, with_cp=self.with_cp)                                # [R, L, C]
        return x

    def forward(self, memory, input_ids, attention_mask=None, memory_mask=None):
        """``memory [B, N, Cm]``, ``input_ids [R, L]`` -> next-token logits ``[R, L, V]``."""
        return self.head(self.hidden_states(memory, input_ids, attention_mask, memory_mask))

    def lm_targets(self, input_ids, attention_mask=None, prompt_lengths=None):
        """Targets ``[R, L-1]`` of positions ``0..L-2``: the next token, or -100 (ignored) where
        that token is padding or among the first ``prompt_lengths[r]`` tokens (bos + prompt)."""
        if attention_mask is None:
            attention_mask = input_ids != self.pad_token_id
        targets = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)    # [R, L-1]
        if prompt_lengths is not None:
            lengths = torch.as_tensor(prompt_lengths, device=input_ids.device).reshape(-1, 1)
            pos = torch.arange(1, input_ids.shape[1], device=input_ids.device)      # [L-1]
            targets = targets.masked_fill(pos < lengths, -100)
        return targets

    def loss(self, memory, input_ids, attention_mask=None, memory_mask=None,
             prompt_lengths=None, label_smoothing=0.0, reduction='mean'):
        """Prefix / instruction LM loss: next-token cross-entropy after the prompt.

        ``input_ids [R, L]``: ``bos, prompt..., target..., eos, pad...``; ``prompt_lengths``: int or
        ``[R]`` count of leading tokens (bos included) that are context, not targets.
        ``reduction``: ``'mean'`` over target tokens, or ``'none'``: summed per row ``[R]``.
        """
        if reduction not in ('mean', 'none'):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        logits = self(memory, input_ids, attention_mask, memory_mask)[:, :-1]      # [R, L-1, V]
        targets = self.lm_targets(input_ids, attention_mask, prompt_lengths)        # [R, L-1]
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=-100,
                               label_smoothing=label_smoothing, reduction=reduction)
        return loss if reduction == 'mean' else loss.view(targets.shape).sum(dim=1)

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def generate(self, memory, memory_mask=None, prompt_ids=None, num_beams=5, max_length=25,
                 min_length=1, length_penalty=1.0, no_repeat_ngram_size=0, use_cache=True):
        """Generate text for each of the ``B`` memories: greedy if ``num_beams == 1``, else beam.

        Args:
            memory: ``[B, N, Cm]``; ``memory_mask``: ``[B, N]`` (1 = keep).
            prompt_ids: leading tokens, starting with bos (``[P]`` shared or ``[B, P]``); default
                ``[bos]``. Instruction / prefix prompts go here (e.g. the tokens of "What does
                the image describe?"), as in training with ``prompt_lengths``.
            max_length: most new tokens after the prompt (an end token counts); default 25.
            min_length: the end token is forbidden before this many new tokens.
            length_penalty: a sequence of ``n`` new tokens (end token included) with summed
                log-probability ``S`` is ranked by ``S / n ** length_penalty``.
            no_repeat_ngram_size: ``n > 0`` forbids a token that would repeat an ``n``-gram
                already in the hypothesis's new tokens (the prompt excluded), as Hugging Face's
                ``generate``; ``0`` (default) turns it off.
            use_cache: key/value cache (``False`` recomputes the whole prefix every step).

        Returns:
            :class:`~.generation.GenerationOutput` ``(sequences, scores)``: per sample, the new
            token ids (no prompt, no end token) and the length-normalised score.
        """
        for name, value, low in (('num_beams', num_beams, 1), ('max_length', max_length, 1),
                                 ('min_length', min_length, 0)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f'{name} must be an integer >= {low}, got {value!r}')
        if isinstance(no_repeat_ngram_size, bool) or not isinstance(no_repeat_ngram_size, int) \
                or no_repeat_ngram_size < 0:
            raise ValueError(f'no_repeat_ngram_size must be an integer >= 0 (0: off), got '
                             f'{no_repeat_ngram_size!r}')
        if min_length > max_length:
            raise ValueError(f'min_length={min_length} is larger than max_length={max_length}')
        batch = memory.shape[0]
        if prompt_ids is None:
            prompt_ids = [self.bos_token_id]
        ids = torch.as_tensor(prompt_ids, device=memory.device).long()
        ids = ids.expand(batch, -1) if ids.dim() == 1 else ids                   # [B, P]
        if ids.shape[0] != batch or not bool((ids[:, 0] == self.bos_token_id).all()):
            raise ValueError(f'prompt_ids must be [P] or [{batch}, P] starting with '
                             f'bos_token_id={self.bos_token_id}, got {tuple(ids.shape)}')
        step = DecodingStep(self, memory, memory_mask, use_cache)
        kwargs = dict(max_length=max_length, min_length=min_length, eos_id=self.eos_token_id,
                      pad_id=self.pad_token_id, length_penalty=length_penalty,
                      no_repeat_ngram_size=no_repeat_ngram_size)
        if num_beams == 1:
            return greedy_search(step, ids, **kwargs)
        return beam_search(step, ids, num_beams, **kwargs)


def _init_bert(module, std=0.02):
    """BERT initialisation: normal(0, std) weights, zero biases, the padding embedding zero."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.Embedding) and module.padding_idx is not None:
        with torch.no_grad():
            module.weight[module.padding_idx].zero_()
