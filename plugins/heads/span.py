"""``SpanHead``: extractive question answering, start / end logits over the text tokens.

BERT's SQuAD head (Devlin et al., 2018, §4.2): one linear layer gives every token a start and an
end logit; the loss is the mean of the start and end cross-entropies; a window without the answer
(or a question without one, SQuAD 2.0) targets [CLS], token 0. A span's score is its start logit
plus its end logit, the null score that of [CLS] (``start[0] + end[0]``), which
:class:`~mplug_registry_plugins.metrics.squad.SquadMetric` compares across the windows of a
question.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS


def best_span(start, end, allowed, max_answer_length):
    """``(score, start token, end token)`` of the best span of one window, or ``None``.

    ``start`` / ``end``: logits ``[L]``; ``allowed``: bool ``[L]``, the context tokens. A span is
    valid when both ends are allowed, ``start <= end`` and it is at most ``max_answer_length``
    tokens long; every valid span is scored (the exact maximum that the reference code's n-best
    search over the top 20 starts and ends approximates).
    """
    n = start.shape[0]
    scores = start[:, None] + end[None, :]                                   # [L, L]
    idx = torch.arange(n, device=start.device)
    length = idx[None, :] - idx[:, None]                                     # end - start
    valid = (length >= 0) & (length < max_answer_length) & allowed[:, None] & allowed[None, :]
    if not bool(valid.any()):
        return None
    flat = scores.masked_fill(~valid, float('-inf')).flatten().argmax()
    s, e = divmod(int(flat), n)
    return float(scores[s, e]), s, e


@MODELS.register_module()
class SpanHead(BaseHead):
    """Start / end logits over the tokens of one stream (extractive QA).

    Args:
        in_dims: width of the token features.
        stream: which features: ``text`` (question and context through the text encoder and the
            universal layers) or ``fused``.
        max_answer_length: longest predicted span in tokens.
        dropout: dropout before the linear layer.
        loss_weight: weight of the loss.

    Reads ``start_position`` / ``end_position`` (token indices) in training. ``predict`` sets on
    each window's data sample: ``pred_span_text`` (the characters of the context from the start
    token's first to the end token's last character, through ``offsets``), ``pred_span_start``
    (its first character; -1 without a valid span), ``pred_span_score`` (start + end logit;
    ``-inf`` without a valid span) and ``pred_null_score`` (the [CLS] score).
    """

    def __init__(self, in_dims, stream='text', max_answer_length=30, dropout=0.0,
                 loss_weight=1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if stream not in ('text', 'fused'):
            raise ValueError(f"stream must be 'text' or 'fused', got {stream!r}")
        check_positive('max_answer_length', max_answer_length)
        self.stream = stream
        self.requires = (stream, )
        self.in_dims = {stream: in_dims}
        self.max_answer_length = max_answer_length
        self.loss_weight = loss_weight
        self.dropout = nn.Dropout(dropout)
        self.qa = nn.Linear(in_dims, 2)

    def forward(self, feats):
        """``(start, end)`` logits ``[B, L]``; padding tokens get ``-inf``."""
        text = feats.require(self.stream, type(self).__name__)
        logits = self.qa(self.dropout(text.tokens)).float()                  # [B, L, 2]
        start, end = logits.unbind(-1)
        if text.mask is not None:
            pad = text.mask == 0
            start, end = start.masked_fill(pad, float('-inf')), end.masked_fill(pad, float('-inf'))
        return start, end

    def loss(self, feats, data_samples):
        start, end = self(feats)
        device = start.device
        gt_start = torch.tensor([int(s.start_position) for s in data_samples], device=device)
        gt_end = torch.tensor([int(s.end_position) for s in data_samples], device=device)
        loss = (F.cross_entropy(start, gt_start) + F.cross_entropy(end, gt_end)) / 2
        hit = (start.argmax(-1) == gt_start) & (end.argmax(-1) == gt_end)
        return {'loss_span': loss * self.loss_weight, 'span_acc': hit.float().mean().detach()}

    def predict(self, feats, data_samples):
        start, end = self(feats)
        for sample, s_logits, e_logits in zip(data_samples, start.detach(), end.detach()):
            offsets = list(sample.offsets)
            n = len(offsets)
            allowed = torch.tensor([tuple(o)[0] >= 0 for o in offsets], device=s_logits.device)
            found = best_span(s_logits[:n], e_logits[:n], allowed, self.max_answer_length)
            sample.pred_null_score = float(s_logits[0] + e_logits[0])
            if found is None:
                sample.pred_span_text, sample.pred_span_start = '', -1
                sample.pred_span_score = float('-inf')
                continue
            score, s, e = found
            first, last = offsets[s][0], offsets[e][1]
            sample.pred_span_text = sample.context[first:last]
            sample.pred_span_start = int(first)
            sample.pred_span_score = score
        return data_samples
