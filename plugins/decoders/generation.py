"""Greedy and beam search over a decoder ``step`` function, batched over samples.

Both searches take a *stepper*: ``step(ids [R, T]) -> log-probs [R, V]`` of the token after ``ids``
and ``step.reorder(index [R])``, called when beam search permutes the rows (the stepper reorders its
key/value cache; without a cache it has nothing to do). See ``SharedTextDecoder.generate``.

Conventions (the same for both searches):

* ``max_length`` counts *new* tokens after the prompt, the end token included when one is produced;
  ``min_length`` is the number of new tokens before which the end token is forbidden.
* A hypothesis of ``n`` new tokens (end token included) with summed log-probability ``S`` scores
  ``S / n ** length_penalty`` (``length_penalty=0``: raw sum; ``> 0`` favours longer outputs).
* Returned sequences are the new tokens without the prompt and without the end token.
* ``no_repeat_ngram_size=n > 0`` (Hugging Face's ``generate`` option): a token that would complete
  an ``n``-gram already present in the hypothesis's new tokens (the prompt excluded) is forbidden;
  ``0`` turns it off.
"""
from typing import List, NamedTuple

import torch


class GenerationOutput(NamedTuple):
    sequences: List[List[int]]   # one list of new token ids per sample (no prompt, no end token)
    scores: List[float]          # length-normalised log-probability of each sequence


def _strip_eos(tokens, eos_id):
    return tokens[:tokens.index(eos_id)] if eos_id in tokens else tokens


def _forbid_eos(logp, step, min_length, eos_id):
    if step < min_length:
        logp[:, eos_id] = float('-inf')
    return logp


def repeated_ngram_bans(tokens, n):
    """Tokens that would repeat an ``n``-gram of ``tokens`` (a list) if appended to it."""
    length = len(tokens)
    if n <= 0 or length < n:
        return set()
    prefix = tokens[length - n + 1:]                                     # the last n-1 tokens
    return {tokens[i + n - 1] for i in range(length - n + 1) if tokens[i:i + n - 1] == prefix}


def _forbid_repeats(logp, ids, start, n):
    """Set to -inf, row by row, the tokens :func:`repeated_ngram_bans` forbids (``n > 0``)."""
    if n <= 0 or ids.shape[1] - start < n:
        return logp
    for row, tokens in enumerate(ids[:, start:].tolist()):
        banned = repeated_ngram_bans(tokens, n)
        if banned:
            logp[row, list(banned)] = float('-inf')
    return logp


def greedy_search(step, ids, max_length, min_length, eos_id, pad_id, length_penalty=1.0,
                  no_repeat_ngram_size=0):
    """Most likely next token at each step; rows that produced the end token are fed padding."""
    rows, start = ids.shape
    total = torch.zeros(rows, device=ids.device)                         # summed log-probs
    lengths = torch.full((rows, ), max_length, device=ids.device)
    done = torch.zeros(rows, dtype=torch.bool, device=ids.device)
    for t in range(max_length):
        logp = _forbid_eos(step(ids), t, min_length, eos_id)             # [R, V]
        logp = _forbid_repeats(logp, ids, start, no_repeat_ngram_size)
        token_logp, token = logp.max(dim=-1)                             # [R]
        total += token_logp.masked_fill(done, 0.0)
        ended = ~done & (token == eos_id)
        lengths[ended] = t + 1
        done |= ended
        token = token.masked_fill(done & ~ended, pad_id)
        ids = torch.cat([ids, token[:, None]], dim=1)                    # [R, T+1]
        if bool(done.all()):
            break
    scores = total / lengths.float() ** length_penalty
    return GenerationOutput([_strip_eos(row, eos_id) for row in ids[:, start:].tolist()],
                            scores.tolist())


class _Hypotheses:
    """The ``num_beams`` best finished hypotheses of one sample."""

    def __init__(self, num_beams, length_penalty):
        self.num_beams, self.length_penalty = num_beams, length_penalty
        self.items = []                                                  # [(score, tokens)]

    def add(self, logprob_sum, length, tokens):
        self.items.append((logprob_sum / length ** self.length_penalty, tokens))
        self.items.sort(key=lambda item: -item[0])
        del self.items[self.num_beams:]

    def is_done(self, best_running_sum, length):
        """Full, and no running beam (scored at the current length) beats the worst one."""
        return len(self.items) == self.num_beams and \
            self.items[-1][0] >= best_running_sum / length ** self.length_penalty


def beam_search(step, ids, num_beams, max_length, min_length, eos_id, pad_id, length_penalty=1.0,
                no_repeat_ngram_size=0):
    """Beam search for ``B`` prompts at once (``ids [B, P]``); beams are expanded here.

    Rows ``b*K .. b*K+K-1`` hold the ``K`` beams of sample ``b``, so a decoder whose memory has
    ``B`` rows serves every beam of a sample from one memory row. At each step the ``2K`` best
    continuations of each sample are ranked; an end token among the top ``K`` finishes a
    hypothesis, the other continuations fill the ``K`` running beams. A sample stops once it holds
    ``K`` finished hypotheses none of the running beams can beat (the criterion of Hugging Face's
    ``early_stopping=False``); at ``max_length`` the running beams become hypotheses.
    """
    batch, start = ids.shape
    k = num_beams
    ids = ids.repeat_interleave(k, dim=0)                                # [B*K, P]
    beam_scores = torch.zeros(batch, k, device=ids.device)
    beam_scores[:, 1:] = -1e9                                            # start from one beam
    hyps = [_Hypotheses(k, length_penalty) for _ in range(batch)]
    done = [False] * batch
    for t in range(max_length):
        logp = _forbid_eos(step(ids), t, min_length, eos_id)             # [B*K, V]
        logp = _forbid_repeats(logp, ids, start, no_repeat_ngram_size)
        vocab = logp.shape[-1]
        cand = (beam_scores.view(-1, 1) + logp).view(batch, k * vocab)  # [B, K*V]
        top, index = cand.topk(2 * k, dim=1)                             # [B, 2K]
        top, beam, token = top.tolist(), (index // vocab).tolist(), (index % vocab).tolist()
        selected = []                                                    # (score, token, row)
        rows = None                                                      # ids as lists, if needed
        for b in range(batch):
            if done[b]:                                                  # keep rows, feed padding
                chosen = [(0.0, pad_id, b * k + j) for j in range(k)]
            else:
                chosen = []
                for rank in range(2 * k):
                    score, row, tok = top[b][rank], b * k + beam[b][rank], token[b][rank]
                    if tok != eos_id:
                        chosen.append((score, tok, row))
                    elif rank < k:                                       # a finished hypothesis
                        rows = ids[:, start:].tolist() if rows is None else rows
                        hyps[b].add(score, t + 1, rows[row])
                    if len(chosen) == k:
                        break
                done[b] = hyps[b].is_done(chosen[0][0], t + 1)
            selected += chosen
        new_scores, new_tokens, new_rows = zip(*selected)
        index = torch.tensor(new_rows, device=ids.device)
        step.reorder(index)
        ids = torch.cat([ids.index_select(0, index),
                         torch.tensor(new_tokens, device=ids.device)[:, None]], dim=1)
        beam_scores = torch.tensor(new_scores, device=ids.device).view(batch, k)
        if all(done):
            break
    rows, final = ids[:, start:].tolist(), beam_scores.tolist()
    for b in range(batch):
        if not done[b]:                                                  # ran to max_length
            for j in range(k):
                hyps[b].add(final[b][j], max_length, rows[b * k + j])
    best = [h.items[0] for h in hyps]
    return GenerationOutput([_strip_eos(tokens, eos_id) for _, tokens in best],
                            [score for score, _ in best])
