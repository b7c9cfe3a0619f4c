"""``MLMHead``: masked language modelling with the visual context (mPLUG §3.3, mPLUG-2 §3.2).

mPLUG §3.3 "Masked Language Modeling (MLM)": as BERT (Devlin et al., 2018, §3.1), 15% of the
text tokens are selected; a selected token is replaced by ``[MASK]`` 80% of the time, by a random
token 10% of the time and kept 10% of the time; the model predicts the original tokens "with the
cross-modal representations" (``L_mlm = E H(y^msk, p^msk(I, T^msk))``, ALBEF eq. 4). mPLUG-2's
language loss is the same on the text encoder's own output (``stream='text'``).
"""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.errors import ConfigError
from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS



@MODELS.register_module()
class MLMHead(BaseHead):
    """BERT masked language modelling on the fused (or text) tokens.

    Args:
        embed_dims: size of the features the tokens are predicted from (768).
        stream: ``'fused'`` (mPLUG MLM: the masked text goes through the text encoder, the
            universal layers when present, and the fusion module with the same visual
            features) or ``'text'`` (the text encoder, and universal layers when present, alone).
        mask_prob: fraction of the eligible tokens selected (0.15).
        mask_token_prob, random_token_prob: of the selected tokens, the fractions replaced by
            ``[MASK]`` (0.8) and by a uniformly random token (0.1); the rest stay unchanged.
        tie_weights: the decoder to the vocabulary shares the text encoder's word embeddings
            (default, as BERT); ``False``: a separate decoder weight of the tokenizer's size.
        layer_norm_eps: of the transform's LayerNorm (1e-12, BERT).
        loss_weight: factor on ``loss_mlm``.

    The prediction head is BERT's: ``decoder(LN(GELU(dense(h))))`` with a per-token bias, run only
    at the selected positions. Eligible tokens are the kept (``attention_mask`` 1) tokens that
    are not ``[CLS]``, ``[SEP]``, ``[PAD]`` or ``[MASK]``; the ids come from the data
    preprocessor's tokenizer. The loss is the cross-entropy over the selected positions only (0
    with a gradient-carrying zero when a batch selects none). Randomness comes from torch's
    global generator, so it is reproducible under ``torch.manual_seed``. With ``stream='fused'``
    the fused tokens must end with the text tokens, as every fusion module's output does (text
    side only, or ``[vision; text]``). ``predict`` adds nothing (MLM is a training objective).
    """

    def __init__(self, embed_dims=768, stream='fused', mask_prob=0.15, mask_token_prob=0.8,
                 random_token_prob=0.1, tie_weights=True, layer_norm_eps=1e-12, loss_weight=1.0,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if stream not in ('fused', 'text'):
            raise ValueError(f"stream must be 'fused' or 'text', got {stream!r}")
        check_positive('embed_dims', embed_dims)
        if not 0.0 < mask_prob <= 1.0:
            raise ValueError(f'mask_prob must be in (0, 1], got {mask_prob!r}')
        if not (mask_token_prob >= 0 and random_token_prob >= 0
                and mask_token_prob + random_token_prob <= 1.0):
            raise ValueError('mask_token_prob and random_token_prob must be >= 0 with a sum <= 1, '
                             f'got {mask_token_prob!r} and {random_token_prob!r}')
        self.stream = stream
        self.requires = ('vision', 'text', 'fused') if stream == 'fused' else ('text', )
        self.in_dims = {stream: embed_dims}
        self.embed_dims, self.tie_weights = embed_dims, bool(tie_weights)
        self.mask_prob, self.loss_weight = float(mask_prob), loss_weight
        self.mask_token_prob = float(mask_token_prob)
        self.random_token_prob = float(random_token_prob)
        self.dense = nn.Linear(embed_dims, embed_dims)         # BERT's prediction-head transform
        self.norm = nn.LayerNorm(embed_dims, eps=layer_norm_eps)
        self.decoder_weight = None                                      # untied: made in bind
        self.decoder_bias = None
        self.special_ids = ()

    def bind(self, model, name=None):
        """Read the tokenizer's ids and make (or tie) the decoder to the vocabulary."""
        super().bind(model, name)
        name = self.name
        tokenizer = model.tokenizer
        if tokenizer is None:
            raise ConfigError('model.data_preprocessor.tokenizer', f"head '{name}' (MLMHead) "
                              'needs a tokenizer, but the data preprocessor has none')
        if not model.has_stream('text'):
            raise ConfigError('model.text_encoder', f"head '{name}' (MLMHead) re-encodes the "
                              'masked text, but the config has no `model.text_encoder`')
        self.vocab_size, self.mask_token_id = tokenizer.vocab_size, tokenizer.mask_token_id
        self.special_ids = tuple(i for i in (tokenizer.cls_token_id, tokenizer.sep_token_id,
                                             tokenizer.pad_token_id, tokenizer.mask_token_id)
                                 if i is not None)
        rows = self.vocab_size
        if self.tie_weights:
            embeddings = model.text_embeddings()
            if embeddings is None:
                raise ConfigError(f'model.heads.{name}.tie_weights', 'the text encoder has no word '
                                  'embeddings to tie to', 'set tie_weights=False')
            rows, width = embeddings.weight.shape
            if width != self.embed_dims or rows < self.vocab_size:
                raise ConfigError(f'model.heads.{name}.tie_weights', f'the word embeddings are '
                                  f'[{rows}, {width}], but the head needs at least '
                                  f'[{self.vocab_size}, {self.embed_dims}] (vocabulary, '
                                  'embed_dims)', 'set tie_weights=False')
        else:
            self.decoder_weight = nn.Parameter(torch.empty(rows, self.embed_dims))
            nn.init.normal_(self.decoder_weight, std=0.02)
        self.decoder_bias = nn.Parameter(torch.zeros(rows))

    def _decoder(self):
        if self.decoder_weight is not None:
            return self.decoder_weight
        return self.model.text_embeddings().weight                       # tied  [V, C]

    # ------------------------------------------------------------------ masking
    def mask_tokens(self, input_ids, attention_mask=None):
        """BERT masking of ``input_ids`` ``[B, L]`` -> ``(masked ids [B, L], selected [B, L])``.

        ``selected`` marks the positions to predict: each eligible token with probability
        ``mask_prob``; ``mask_token_prob`` of them become ``[MASK]``, ``random_token_prob`` a
        random id in ``[0, vocab_size)``, the rest are unchanged.
        """
        special = torch.tensor(self.special_ids, dtype=input_ids.dtype, device=input_ids.device)
        eligible = ~torch.isin(input_ids, special)                         # [B, L]
        if attention_mask is not None:
            eligible &= attention_mask.bool()
        probs = torch.full(input_ids.shape, self.mask_prob, device=input_ids.device)
        selected = torch.bernoulli(probs).bool() & eligible                # [B, L]
        draw = torch.rand(input_ids.shape, device=input_ids.device)        # 80 / 10 / 10 split
        to_mask = selected & (draw < self.mask_token_prob)
        to_random = selected & ~to_mask & (draw < self.mask_token_prob + self.random_token_prob)
        random_ids = torch.randint(self.vocab_size, input_ids.shape, device=input_ids.device)
        masked = input_ids.masked_fill(to_mask, self.mask_token_id)
        masked = torch.where(to_random, random_ids, masked)
        return masked, selected

    # ------------------------------------------------------------------ loss
    def logits(self, hidden):
        """BERT's prediction head: ``[M, C]`` -> ``[M, V]``."""
        hidden = self.norm(F.gelu(self.dense(hidden)))
        return F.linear(hidden, self._decoder(), self.decoder_bias)

    def encode_masked(self, feats, masked_ids, attention_mask):
        """Text-side tokens ``[B, L, C]`` of the masked text with this batch's visual features."""
        text = self.model.encode('text', dict(text=dict(input_ids=masked_ids,
                                                        attention_mask=attention_mask)))
        vision = self.model.encoder_features(feats, 'vision')
        _, text, fused = self.model.pair(vision, text, fuse=self.stream == 'fused')
        if self.stream == 'text':
            return text.tokens
        return fused.tokens[:, -masked_ids.shape[1]:]                   # text side  [B, L, C]

    def loss(self, feats, data_samples):
        feats.require(self.stream, type(self).__name__)
        text_inputs = feats.inputs.get('text')
        if text_inputs is None:
            raise ValueError('MLMHead needs tokenized text in the batch (inputs["text"])')
        ids = text_inputs['input_ids']                                     # [B, L]
        attention_mask = text_inputs.get('attention_mask')
        masked_ids, selected = self.mask_tokens(ids, attention_mask)
        tokens = self.encode_masked(feats, masked_ids, attention_mask)    # [B, L, C]
        if not bool(selected.any()):
            return {'loss_mlm': tokens.sum() * 0.0}
        logits = self.logits(tokens[selected]).float()                    # [M, V]
        targets = ids[selected]                                            # [M]
        loss = F.cross_entropy(logits, targets)
        acc = (logits.argmax(dim=1) == targets).float().mean()
        return {'loss_mlm': loss * self.loss_weight, 'acc_mlm': acc.detach()}

    def predict(self, feats, data_samples):
        return data_samples
