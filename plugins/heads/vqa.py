"""``VQAHead``: open-ended visual question answering through the shared decoder.

mPLUG-2 Table 2, row "Image-Text Question Answering" (text enc + image enc + universal layers +
fusion + decoder) and §3.1 "Shared Decoder Module": the decoder reads the multi-modal (fused)
features of the image and the question and generates the answer. Training follows ALBEF / BLIP /
mPLUG: every unique answer ``a_j`` of a question is a target, weighted by ``w_j`` (its share of the
annotators' answers, ``VQADataset``'s ``answer_weights``)::

    L = 1/B * sum_b sum_j w_bj * ( - sum_t log p(a_bj,t | a_bj,<t, fused_b) )

(the token sum runs over the answer and its end token). Prediction generates the answer
(``inference='generate'``, as mPLUG-2) or ranks a closed answer list (``inference='rank'``, ALBEF's
``rank_answer``): the ``k_test`` answers whose first token is most likely are kept, then scored by
their full log-likelihood under the decoder (which includes the first token, chain rule), the best
one is the prediction.
"""
import json
import os

import torch

from mplug_registry.checks import check_positive
from mplug_registry.registry import MODELS
from mplug_registry_plugins.heads.text_targets import DecodingHead, frame_texts, with_bos

INFERENCE = ('generate', 'rank')


def read_answer_list(path):
    """A json list of answer strings (ALBEF's ``answer_list.json``)."""
    if not os.path.isfile(str(path)):
        raise ValueError(f"answer_list file '{path}' does not exist")
    with open(path, encoding='utf-8') as f:
        answers = json.load(f)
    if not isinstance(answers, list) or not answers or \
            not all(isinstance(a, str) and a.strip() for a in answers):
        raise ValueError(f"answer_list '{path}' must be a non-empty json list of answer strings")
    return list(dict.fromkeys(answers))


@MODELS.register_module()
class VQAHead(DecodingHead):
    """Answer-weighted LM loss and answer generation / ranking through the ``decoder`` slot.

    Args:
        inference: ``'generate'`` (beam / greedy decoding) or ``'rank'`` (over ``answer_list``).
        answer_list: json file with the candidate answers (needed for ``'rank'``); a path is
            read when the head is built.
        k_test: answers kept by the first-token filter when ranking (ALBEF: 128).
        max_length: most tokens of a tokenized answer.
        num_beams, gen_max_length, min_length, length_penalty: generation settings, see
            ``SharedTextDecoder.generate`` (answers are short: 10 new tokens at most by default).
        label_smoothing: cross-entropy label smoothing of the answer tokens.
        loss_weight: factor on ``loss_vqa``.
        rank_chunk: decoder rows scored at once when ranking (bounds the ``[rows, L, vocab]``
            logits).
        answers_field, weights_field: data-sample fields with the unique answers and weights (a
            sample without weights weighs its answers equally).
        pred_field: data-sample field receiving the answer.

    The decoder's memory is ``feats.<decoder.memory_stream>`` (``fused`` for Table 2's row).
    """
    requires = ('decoder', 'fused')

    def __init__(self, inference='generate', answer_list=None, k_test=128, max_length=10,
                 num_beams=5, gen_max_length=10, min_length=1, length_penalty=1.0,
                 label_smoothing=0.0, loss_weight=1.0, rank_chunk=2048, answers_field='answers',
                 weights_field='answer_weights', pred_field='pred_answer', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if inference not in INFERENCE:
            raise ValueError(f'inference must be one of {INFERENCE}, got {inference!r}')
        if inference == 'rank' and answer_list is None:
            raise ValueError("inference='rank' needs answer_list (a json list of answers)")
        for name, value in dict(k_test=k_test, max_length=max_length, num_beams=num_beams,
                                gen_max_length=gen_max_length, rank_chunk=rank_chunk).items():
            check_positive(name, value)
        if not isinstance(min_length, int) or not 0 <= min_length <= gen_max_length:
            raise ValueError(f'min_length must be an integer in [0, gen_max_length], got '
                             f'{min_length!r}')
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing!r}')
        self.inference, self.k_test, self.max_length = inference, k_test, max_length
        self.answer_list = read_answer_list(answer_list) if answer_list is not None else None
        self.label_smoothing, self.loss_weight, self.rank_chunk = \
            label_smoothing, loss_weight, rank_chunk
        self.answers_field, self.weights_field = answers_field, weights_field
        self.pred_field = pred_field
        self.generation = dict(num_beams=num_beams, max_length=gen_max_length,
                               min_length=min_length, length_penalty=length_penalty)



    def _answers(self, sample):
        """``(answers, weights)`` of one sample; weights default to equal shares."""
        answers = sample.get(self.answers_field)
        if isinstance(answers, str):
            answers = [answers]
        if not answers or not all(isinstance(a, str) for a in answers):
            raise ValueError(f"VQAHead needs the answers in the data-sample field "
                             f"'{self.answers_field}' (a list of str), got {answers!r}")
        weights = sample.get(self.weights_field)
        weights = [1.0 / len(answers)] * len(answers) if weights is None else list(weights)
        if len(weights) != len(answers):
            raise ValueError(f'{len(answers)} answers but {len(weights)} answer weights')
        return list(answers), [float(w) for w in weights]

    # ------------------------------------------------------------------ loss
    def loss(self, feats, data_samples):
        """Answer-weighted LM loss (module docstring). Questions have different numbers of
        answers, so each answer row reads a copy of its question's fused memory (as ALBEF's
        ``tile``); the memory is small next to the ``[rows, L, vocab]`` logits that padding every
        question to the same number of answers would add."""
        decoder, memory = self.decoder_and_memory(feats)
        device = memory.tokens.device
        texts, weights, owner = [], [], []
        for b, sample in enumerate(data_samples):
            answers, w = self._answers(sample)
            texts += answers
            weights += w
            owner += [b] * len(answers)
        owner = torch.tensor(owner, device=device)                             # [R]
        ids, mask = with_bos(*frame_texts(self.tokenizer, texts, decoder, device,
                                          self.max_length), decoder)          # [R, 1+L]
        mem_mask = memory.mask[owner] if memory.mask is not None else None     # [R, N]
        nll = decoder.loss(memory.tokens[owner], ids, mask, mem_mask, prompt_lengths=1,
                           label_smoothing=self.label_smoothing, reduction='none')  # [R]
        weights = torch.tensor(weights, device=device, dtype=nll.dtype)        # [R]
        loss = (weights * nll).sum() / len(data_samples)
        return {'loss_vqa': loss * self.loss_weight}

    # ------------------------------------------------------------------ predict
    def predict(self, feats, data_samples):
        decoder, memory = self.decoder_and_memory(feats)
        if self.inference == 'rank':
            answers = self.rank_answers(decoder, memory)
        else:
            out = decoder.generate(memory.tokens, memory.mask, **self.generation)
            answers = [self.tokenizer.decode(tokens) for tokens in out.sequences]
        for sample, answer in zip(data_samples, answers):
            sample.set_field(answer, self.pred_field)
        return data_samples

    @torch.no_grad()
    def rank_answers(self, decoder, memory):
        """The best answer of :attr:`answer_list` for each memory row (ALBEF's ``rank_answer``)."""
        device, batch = memory.tokens.device, memory.tokens.shape[0]
        ids, mask = with_bos(*frame_texts(self.tokenizer, self.answer_list, decoder, device,
                                          self.max_length), decoder)          # [A, 1+L]
        k = min(self.k_test, len(self.answer_list))
        start = ids[:1, :1].expand(batch, 1)                                   # [B, 1] bos
        first = decoder(memory.tokens, start, memory_mask=memory.mask)[:, 0]  # [B, V]
        first = first.float().log_softmax(dim=-1)[:, ids[:, 1]]               # [B, A]
        top = first.topk(k, dim=1).indices                                    # [B, k]
        scores = torch.empty(batch, k, device=device)
        per_chunk = max(1, self.rank_chunk // k)                              # questions per chunk
        for lo in range(0, batch, per_chunk):
            hi = min(batch, lo + per_chunk)
            rows = top[lo:hi].reshape(-1)                                     # [(hi-lo)*k]
            mem_mask = memory.mask[lo:hi] if memory.mask is not None else None
            nll = decoder.loss(memory.tokens[lo:hi], ids[rows], mask[rows], mem_mask,
                               prompt_lengths=1, reduction='none')            # [(hi-lo)*k]
            scores[lo:hi] = -nll.view(hi - lo, k)
        best = top.gather(1, scores.argmax(dim=1, keepdim=True)).squeeze(1)   # [B]
        return [self.answer_list[i] for i in best.tolist()]
