"""``MultimodalDataPreprocessor``: batches images/videos and text for :class:`ComposedModel`."""
import torch
from mmengine.model import BaseDataPreprocessor

from ..builder import build_component

CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)   # 0-255 scale
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


class MultimodalDataPreprocessor(BaseDataPreprocessor):
    """Stack and normalise images ``[B,3,H,W]`` / videos ``[B,T,3,H,W]``; tokenize text.

    The dataloader yields ``inputs`` as a list of per-sample dicts ``{'images': uint8/float tensor}``
    (or a list of image tensors). Output: ``{'images': float tensor, 'text': {input_ids,
    attention_mask}}`` on the model's device. ``mean``/``std`` are on the 0-255 scale (CLIP's by
    default). ``tokenizer`` (a config of a component with ``__call__(list[str]) -> dict``) is used
    for the data samples' ``text_field`` when given. ``text_field`` may be a tuple of fields for
    multi-task batches (VQA's ``question``, grounding's ``text``): each sample gives the first one
    it has, a sample with none of them the empty string; a batch where no sample has one has no text.
    ``text_pair_field`` (e.g. ``'text_b'`` of GLUE's sentence pairs) tokenizes each text with its
    pair and adds ``token_type_ids``. Samples that carry ``input_ids`` (pre-tokenized by their
    dataset, e.g. the windows of extractive QA; optional ``token_type_ids``) are padded as they are.
    """
    mplug_kind = 'other'

    def __init__(self, mean=CLIP_MEAN, std=CLIP_STD, tokenizer=None, text_field='text',
                 text_pair_field=None, max_length=40, non_blocking=False):
        super().__init__(non_blocking=non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self.tokenizer = build_component(tokenizer, 'model.data_preprocessor.tokenizer') \
            if tokenizer is not None else None
        self.text_fields = (text_field, ) if isinstance(text_field, str) else tuple(text_field)
        if not self.text_fields or not all(isinstance(f, str) for f in self.text_fields):
            raise ValueError(f'text_field must be a field name or a tuple of them, got '
                             f'{text_field!r}')
        if text_pair_field is not None and not isinstance(text_pair_field, str):
            raise ValueError(f'text_pair_field must be a field name or None, got '
                             f'{text_pair_field!r}')
        self.text_field, self.text_pair_field = text_field, text_pair_field
        self.max_length = max_length

    def forward(self, data, training=False):
        inputs, data_samples = data['inputs'], data.get('data_samples')
        if isinstance(inputs, (list, tuple)):
            if inputs and isinstance(inputs[0], dict):
                inputs = {k: [d[k] for d in inputs] for k in inputs[0]}
            else:
                inputs = {'images': inputs}
        out = {}
        images = inputs.get('images')
        if images is not None:
            if isinstance(images, (list, tuple)):
                images = torch.stack(list(images))
            images = images.to(self.device, non_blocking=self._non_blocking).float()
            out['images'] = (images - self.mean) / self.std
        if self.tokenizer is not None and data_samples is not None:
            tok = self._tokenize(data_samples)
            if tok is not None:
                out['text'] = {k: v.to(self.device) for k, v in tok.items()}
        return {'inputs': out, 'data_samples': data_samples}

    def _tokenize(self, data_samples):
        """The batch's text as ids and masks, or ``None`` when no sample has text."""
        if data_samples and all(s.get('input_ids') is not None for s in data_samples):
            return self.tokenizer.pad([dict(input_ids=s.get('input_ids'),
                                            token_type_ids=s.get('token_type_ids'))
                                       for s in data_samples])
        texts = [next((s.get(f) for f in self.text_fields if s.get(f) is not None), None)
                 for s in data_samples]
        if all(t is None for t in texts):
            return None
        texts = ['' if t is None else t for t in texts]
        if self.text_pair_field is None:
            return self.tokenizer(texts, max_length=self.max_length)
        pairs = [s.get(self.text_pair_field) or '' for s in data_samples]
        return self.tokenizer(texts, pairs, max_length=self.max_length)
