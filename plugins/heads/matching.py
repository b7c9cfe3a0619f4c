"""``ITMHead``: image/video-text matching with contrastive hard negatives (mPLUG §3.3, ALBEF).

mPLUG §3.3 "Image-Text Matching (ITM)": predict whether an image and a sentence match from the
cross-modal representation, with hard negatives chosen by the contrastive similarity as ALBEF
(Li et al., 2021, §3.2 eq. 3): ``L_itm = E H(y^itm, p^itm(I, T))``, where ``p^itm`` is a
two-way softmax of a linear layer on the fused [CLS]. For each image a negative text is drawn
with probability ``softmax(s(I, .))`` over the other texts of the batch (similar texts are more
likely), and for each text a negative image likewise; so every batch has ``B`` positive and up
to ``2B`` negative pairs.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.errors import ConfigError
from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS

from .contrastive import ITCHead
from mplug_registry.model.flow import cat_rows, select_rows

from .pairs import sample_ids


def sample_negatives(sim, positive):
    """Draw one negative column per row of ``sim`` ``[B, B]`` with probability ``softmax(sim)``
    over the columns that are not ``positive`` (``[B, B]`` bool).

    Returns ``(index [B], valid [B])``; a row with no non-positive column has ``valid`` False.
    """
    logits = sim.float().masked_fill(positive, float('-inf'))              # [B, B]
    valid = ~positive.all(dim=1)                                           # [B]
    weights = logits.softmax(dim=1).masked_fill(~valid[:, None], 1.0)      # [B, B]
    return torch.multinomial(weights, 1).squeeze(1), valid


@MODELS.register_module()
class ITMHead(BaseHead):
    """Binary matching on the fused [CLS] ``feats.fused.pooled`` with hard negatives.

    Args:
        embed_dims: size of the fused features (768).
        hard_negatives: sample negatives by similarity (ALBEF); ``False``: uniformly among the
            other samples of the batch.
        id_field: data-sample field of an identity (e.g. ``image_id``): samples sharing it are
            never each other's negatives (ALBEF retrieval fine-tuning). ``None``: only the
            sample itself is excluded.
        temperature: scale of the cosine similarity when there is no ITC head (0.07, ITC's
            initial temperature).
        loss_weight: factor on ``loss_itm``.

    **Similarity.** If the composed model has an :class:`~.contrastive.ITCHead`, its
    :meth:`~.contrastive.ITCHead.similarity` (the online contrastive embeddings over its
    learnable temperature) picks the negatives. Otherwise the cosine similarity of the pooled
    vision and text features / ``temperature`` does, which needs the two sizes to be equal
    (checked in :meth:`bind`).

    **Negative pairs** are paired anew by the composed model (``model.pair``: universal layers
    when present, then the fusion, on the encoder features): one fusion call on ``[text_i with its
    negative image; image_i with its negative text]``. The loss is the cross-entropy over
    ``{no match, match}`` of the ``B`` positives (label 1) and the negatives (label 0, ``2B``
    rows; a row with no admissible negative - all samples share its id - is left out; a batch
    of one sample has no negatives). ``predict`` writes ``itm_score`` = p(match) per sample.
    """
    requires = ('vision', 'text', 'fused')

    def __init__(self, embed_dims=768, hard_negatives=True, id_field=None, temperature=0.07,
                 loss_weight=1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check_positive('embed_dims', embed_dims)
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature!r}')
        self.in_dims = {'fused': embed_dims}
        self.hard_negatives, self.id_field = bool(hard_negatives), id_field
        self.temperature, self.loss_weight = float(temperature), loss_weight
        self.fc = nn.Linear(embed_dims, 2)                                 # {no match, match}
        self._itc_name = None

    def bind(self, model, name=None):
        """Find the ITC head that gives the similarity, or check the fallback is possible."""
        super().bind(model, name)
        found = model.find_head(lambda h: isinstance(h, ITCHead))
        self._itc_name = found[0] if found else None
        if self._itc_name is None and self.hard_negatives:
            sizes = {s: d for s, d in model.stream_dims().items() if s in ('vision', 'text')}
            if len(set(sizes.values())) > 1:
                raise ConfigError(f'model.heads.{self.name}', 'ITMHead picks hard negatives by the '
                                  'similarity of the pooled vision and text features, but their '
                                  f"sizes differ ({sizes['vision']} vs {sizes['text']})",
                                  'add an ITCHead or set hard_negatives=False')

    @torch.no_grad()
    def similarity(self, feats):
        """Image-to-text similarity ``[B, B]`` used to pick the negatives (see the class doc)."""
        vision, text = feats.require('vision', 'ITMHead'), feats.require('text', 'ITMHead')
        if not self.hard_negatives:
            return vision.pooled.new_zeros(vision.pooled.shape[0], text.pooled.shape[0])
        if self._itc_name is not None:
            return self.model.find_head(lambda h: isinstance(h, ITCHead))[1].similarity(feats)
        image = F.normalize(vision.pooled.float(), dim=-1)
        return image @ F.normalize(text.pooled.float(), dim=-1).t() / self.temperature

    def loss(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        b, device = fused.pooled.shape[0], fused.pooled.device
        with torch.no_grad():
            sim = self.similarity(feats)                                   # [B, B] image -> text
            ids = sample_ids(data_samples, self.id_field, device) if self.id_field \
                else torch.arange(b, device=device)
            positive = ids[:, None] == ids[None, :]                        # [B, B]
            neg_text, ok_i = sample_negatives(sim, positive)               # per image  [B]
            neg_image, ok_t = sample_negatives(sim.t(), positive)          # per text   [B]
        rows = torch.arange(b, device=device)
        text_rows, image_rows = rows[ok_t], rows[ok_i]
        logits = self.fc(fused.pooled)                                     # [B, 2]
        if len(text_rows) + len(image_rows):
            vision = self.model.encoder_features(feats, 'vision')
            text = self.model.encoder_features(feats, 'text')
            # [text_i + its negative image; image_i + its negative text]
            pairs_v = cat_rows(select_rows(vision, neg_image[ok_t]),
                               select_rows(vision, image_rows))
            pairs_t = cat_rows(select_rows(text, text_rows), select_rows(text, neg_text[ok_i]))
            neg = self.model.pair(pairs_v, pairs_t)[2].pooled               # [Bn, C]
            logits = torch.cat([logits, self.fc(neg)])                     # [B+Bn, 2]
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=device)
        labels[:b] = 1
        loss = F.cross_entropy(logits.float(), labels)
        acc = (logits.argmax(dim=1) == labels).float().mean()
        return {'loss_itm': loss * self.loss_weight, 'acc_itm': acc.detach()}

    def score_pairs(self, fused):
        """Matching log-odds ``logit(match) - logit(no match)`` ``[B]`` of fused pairs (monotone in
        p(match) but never saturating, so re-ranked retrieval candidates do not tie)."""
        logits = self.fc(fused.pooled).float()                             # [B, 2]
        return logits[:, 1] - logits[:, 0]

    def predict(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        scores = self.fc(fused.pooled).float().softmax(dim=1)[:, 1]       # [B]
        for sample, score in zip(data_samples, scores):
            sample.itm_score = score.detach()
        return data_samples

