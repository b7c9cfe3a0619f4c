"""``LMHead``: prefix / instruction language modelling through the shared decoder.

mPLUG §3.3 (PrefixLM) and mPLUG-2 §3.2 (instruction-based language model loss): the decoder reads
the memory (visual, fused or text features) and a prompt (an instruction such as "What does the
image describe?"), and is trained to produce the target text after it; only the target tokens
are scored. Prediction decodes with beam search from the same prompt.
"""
import torch

from mplug_registry.checks import check_positive
from mplug_registry.registry import MODELS
from mplug_registry_plugins.heads.text_targets import DecodingHead, frame_texts


@MODELS.register_module()
class LMHead(DecodingHead):
    """Language-model loss and generation through the composed model's ``decoder`` slot.

    Args:
        prompt: text prefix fed before the target (not scored), e.g. "What does the image
            describe?" (mPLUG-2 captioning); ``None``: the target follows bos directly.
        target_field: data-sample field holding the target text; a list means its first item.
        max_length: most tokens of a tokenized target (the tokenizer's ``max_length``).
        label_smoothing: cross-entropy label smoothing.
        loss_weight: factor on ``loss_lm``.
        num_beams, gen_max_length, min_length, length_penalty: generation settings (beam 5,
            25 new tokens after the prompt, as mPLUG-2 captioning); see
            ``SharedTextDecoder.generate``.
        no_repeat_ngram_size: ``n > 0`` forbids generating an ``n``-gram twice in one output
            (the prompt not counted), as Hugging Face's ``generate``; ``0``: off (default).
        pred_field: data-sample field that receives the generated text.

    The tokenizer is the data preprocessor's (``tokenizer(texts, max_length=...) -> dict(
    input_ids, attention_mask)`` and ``decode(ids) -> str``). Its rows may or may not carry BERT's
    ``[CLS] ... [SEP]``: the head frames every target as ``bos, prompt..., target..., eos`` with
    the decoder's ids. The memory is ``feats.<decoder.memory_stream>``.
    """
    requires = ('decoder', )

    def __init__(self, prompt=None, target_field='gt_caption', max_length=40,
                 label_smoothing=0.0, loss_weight=1.0, num_beams=5, gen_max_length=25,
                 min_length=1, length_penalty=1.0, no_repeat_ngram_size=0,
                 pred_field='pred_caption', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
            raise ValueError(f'prompt must be a non-empty string or None, got {prompt!r}')
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing!r}')
        for name, value in dict(max_length=max_length, num_beams=num_beams,
                                gen_max_length=gen_max_length).items():
            check_positive(name, value)
        if not isinstance(min_length, int) or not 0 <= min_length <= gen_max_length:
            raise ValueError(f'min_length must be an integer in [0, gen_max_length], got '
                             f'{min_length!r}')
        if isinstance(no_repeat_ngram_size, bool) or not isinstance(no_repeat_ngram_size, int) \
                or no_repeat_ngram_size < 0:
            raise ValueError(f'no_repeat_ngram_size must be an integer >= 0 (0: off), got '
                             f'{no_repeat_ngram_size!r}')
        self.prompt, self.target_field, self.pred_field = prompt, target_field, pred_field
        self.max_length, self.label_smoothing, self.loss_weight = \
            max_length, label_smoothing, loss_weight
        self.generation = dict(num_beams=num_beams, max_length=gen_max_length,
                               min_length=min_length, length_penalty=length_penalty,
                               no_repeat_ngram_size=no_repeat_ngram_size)


    # ------------------------------------------------------------------ text <-> ids

    def _tokenize(self, texts, decoder, device, max_length):
        return frame_texts(self.tokenizer, texts, decoder, device, max_length)

    def _prompt_ids(self, decoder, device):
        """``[P]``: bos followed by the prompt's tokens (no end token)."""
        bos = torch.tensor([decoder.bos_token_id], device=device)
        if self.prompt is None:
            return bos
        ids, mask = self._tokenize([self.prompt], decoder, device,
                                   decoder.position_embeddings.num_embeddings)
        return torch.cat([bos, ids[0, :int(mask[0].sum()) - 1]])

    def _target(self, sample):
        text = sample.get(self.target_field)
        if isinstance(text, (list, tuple)):
            text = text[0] if text else None
        if not isinstance(text, str):
            raise ValueError(f"LMHead needs the text target in the data-sample field "
                             f"'{self.target_field}', got {text!r}")
        return text

    # ------------------------------------------------------------------ loss and predict
    def loss(self, feats, data_samples):
        decoder, memory = self.decoder_and_memory(feats)
        device = memory.tokens.device
        prompt = self._prompt_ids(decoder, device)                          # [P]
        ids, mask = self._tokenize([self._target(s) for s in data_samples], decoder, device,
                                   self.max_length)
        rows = ids.shape[0]
        ids = torch.cat([prompt.expand(rows, -1), ids], dim=1)              # [B, P+L]
        mask = torch.cat([torch.ones(rows, len(prompt), dtype=mask.dtype, device=device), mask], 1)
        loss = decoder.loss(memory.tokens, ids, mask, memory.mask, prompt_lengths=len(prompt),
                            label_smoothing=self.label_smoothing)
        return {'loss_lm': loss * self.loss_weight}

    def predict(self, feats, data_samples):
        decoder, memory = self.decoder_and_memory(feats)
        prompt = self._prompt_ids(decoder, memory.tokens.device)
        out = decoder.generate(memory.tokens, memory.mask, prompt_ids=prompt, **self.generation)
        for sample, tokens in zip(data_samples, out.sequences):
            sample.set_field(self.tokenizer.decode(tokens), self.pred_field)
        return data_samples
