"""Multi-head attention on ``scaled_dot_product_attention`` and the transformer blocks built on it."""
import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head (self or cross) attention; every call goes through ``F.scaled_dot_product_attention``.

    ``kv_dims`` is the size of the key/value input when it differs from ``dims`` (cross-attention).
    ``mask`` is ``[B, Nk]`` with 1 = attend (padding mask) or a boolean/float ``[B, 1|H, Nq, Nk]``.
    ``cache`` (a dict) enables key/value caching for incremental decoding: self-attention appends the
    new keys/values, cross-attention computes its keys/values once.
    """

    def __init__(self, dims, num_heads, kv_dims=None, dropout=0.0, bias=True):
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'hidden size {dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.head_dims = dims // num_heads
        self.q = nn.Linear(dims, dims, bias=bias)
        self.kv = nn.Linear(kv_dims or dims, 2 * dims, bias=bias)
        self.proj = nn.Linear(dims, dims, bias=bias)
        self.dropout = dropout

    def _heads(self, x):  # [B, N, C] -> [B, H, N, C/H]
        return x.unflatten(-1, (self.num_heads, self.head_dims)).transpose(1, 2)

    def forward(self, x, context=None, mask=None, causal=False, cache=None, cross=False):
        q = self._heads(self.q(x))
        if cache is not None and cross and 'k' in cache:
            k, v = cache['k'], cache['v']
        else:
            src = x if context is None else context
            k, v = (self._heads(t) for t in self.kv(src).chunk(2, dim=-1))
            if cache is not None:
                if not cross and 'k' in cache:
                    k = torch.cat([cache['k'], k], dim=2)
                    v = torch.cat([cache['v'], v], dim=2)
                cache['k'], cache['v'] = k, v
        attn_mask = _expand_mask(mask, q.dtype)
        if causal:
            nq, nk = q.shape[2], k.shape[2]
            # query i (absolute position nk - nq + i) sees keys <= its position
            causal_mask = torch.ones(nq, nk, dtype=torch.bool, device=q.device).tril(nk - nq)
            attn_mask = causal_mask if attn_mask is None else (
                attn_mask & causal_mask if attn_mask.dtype == torch.bool
                else attn_mask.masked_fill(~causal_mask, float('-inf')))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).flatten(2))

    def log_weights(self, x, context=None, mask=None):
        """Log attention probabilities ``[B, H, Nq, Nk]`` of the queries ``x`` over ``context``
        (the softmax of :meth:`forward`, without dropout): for losses on where attention looks."""
        q = self._heads(self.q(x))
        k = self._heads(self.kv(x if context is None else context).chunk(2, dim=-1)[0])
        logits = q @ k.transpose(-1, -2) / self.head_dims ** 0.5                 # [B, H, Nq, Nk]
        attn_mask = _expand_mask(mask, q.dtype)
        if attn_mask is not None:
            logits = logits.masked_fill(~attn_mask, float('-inf')) \
                if attn_mask.dtype == torch.bool else logits + attn_mask
        return logits.float().log_softmax(-1)


def _expand_mask(mask, dtype):
    if mask is None:
        return None
    if mask.dim() == 2:  # [B, Nk] keep-mask -> [B, 1, 1, Nk] boolean
        return mask[:, None, None, :].bool()
    return mask


class FeedForward(nn.Sequential):
    def __init__(self, dims, ratio=4.0, dropout=0.0):
        hidden = int(dims * ratio)
        super().__init__(nn.Linear(dims, hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden, dims), nn.Dropout(dropout))


class SelfAttentionBlock(nn.Module):
    """Post-norm ``x = LN(SA(x) + x); x = LN(FFN(x) + x)`` (BERT layout, mPLUG eqs. 6-7, 9-10)."""

    def __init__(self, dims, num_heads, mlp_ratio=4.0, dropout=0.0):
        super().__init__()
        self.attn = Attention(dims, num_heads, dropout=dropout)
        self.norm1 = nn.LayerNorm(dims)
        self.ffn = FeedForward(dims, mlp_ratio, dropout)
        self.norm2 = nn.LayerNorm(dims)

    def forward(self, x, mask=None):
        x = self.norm1(x + self.attn(x, mask=mask))
        return self.norm2(x + self.ffn(x))


class CrossAttentionBlock(nn.Module):
    """Post-norm cross-attention sub-layer ``x = LN(CA(x, context) + x)`` (mPLUG-2 eq. 8)."""

    def __init__(self, dims, num_heads, kv_dims=None, dropout=0.0):
        super().__init__()
        self.attn = Attention(dims, num_heads, kv_dims=kv_dims, dropout=dropout)
        self.norm = nn.LayerNorm(dims)

    def forward(self, x, context, context_mask=None):
        return self.norm(x + self.attn(x, context, mask=context_mask))
