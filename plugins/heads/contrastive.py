"""``ITCHead``: image/video-text contrastive learning with momentum queues (mPLUG §3.3, ALBEF).

mPLUG §3.3 "Image-Text Contrastive (ITC)", following ALBEF (Li et al., 2021, eqs. 1-3 and §3.3):
the pooled unimodal features are projected and L2-normalised, ``g_v(v_cls)`` and ``g_w(w_cls)``;
their similarity ``s(I, T) = g_v(v_cls)^T g'_w(w'_cls) / tau`` is compared with the keys of a
*momentum* encoder, the current batch's keys followed by the two queues of earlier keys (MoCo):

    p^i2t_m(I) = softmax_m(s(I, T_m)),   p^t2i_m(T) = softmax_m(s(T, I_m))          (1)
    L_itc = 1/2 E[ H(y^i2t, p^i2t) + H(y^t2i, p^t2i) ]                            (2)

with the one-hot ground truth ``y`` and, with momentum distillation (ALBEF eq. 6),
``y <- (1 - alpha) y + alpha q`` where ``q`` are the same similarities computed by the momentum
model. mPLUG and mPLUG-2 use a queue of 65,536 and momentum 0.995.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.checks import check_positive
from mplug_registry.model.base import BaseHead
from mplug_registry.model.flow import frozen_copy
from mplug_registry.registry import MODELS

from .pairs import concat_all_gather, sample_ids

#: ``idx_queue`` value of an empty slot: equal to no real id
NO_ID = torch.iinfo(torch.long).min


@MODELS.register_module()
class ITCHead(BaseHead):
    """Image/video-text contrastive loss (ALBEF ITC with momentum distillation).

    Args:
        vision_dims, text_dims: sizes of the pooled vision / text features (768).
        embed_dims: size of the contrastive embedding (256, ALBEF/mPLUG).
        temperature: initial learnable temperature tau (0.07); ``temperature_range`` (0.001, 0.5)
            clamps it before every loss, as ALBEF does.
        queue_size: keys kept in each of the image and text queues (65,536); 0: no queue.
        momentum: EMA coefficient of the momentum model (0.995); ``m <- momentum * m +
            (1 - momentum) * online`` at each training step; 0 copies the online model.
        alpha: momentum-distillation weight (0.4; ALBEF warms it up over the first epoch,
            this head uses it as given); 0: one-hot targets.
        id_field: data-sample field of an identity (e.g. ``image_id``): samples sharing it are
            all positives of each other, also against the queue (ALBEF retrieval fine-tuning).
            ``None``: only the sample's own pair is positive.
        loss_weight: factor on ``loss_itc``.

    **Momentum model.** With ``queue_size > 0`` or ``alpha > 0``, :meth:`bind` asks the composed
    model for the momentum copy of its unimodal path (``model.momentum_copy()``: frozen copies of
    the encoders and universal layers) and adds frozen copies of this head's projections to it, in
    ``self.momentum_model`` - part of the head's state dict, never of the slots,
    ``requires_grad`` False. The first training step copies the online weights into them (so
    ``init_weights`` or loading a checkpoint without momentum weights after building is fine;
    the ``momentum_ready`` buffer records it), later steps apply the EMA. With neither queue nor
    distillation there is no momentum model: the keys are the online batch features (CLIP-style
    in-batch InfoNCE, gradients through both sides).

    **Queues** are buffers ``image_queue`` / ``text_queue`` ``[queue_size, embed_dims]`` (random
    unit vectors at first, as ALBEF), ``idx_queue`` ``[queue_size]`` with ``id_field``, and
    ``queue_ptr``; they are filled in training with the momentum keys of every process
    (all-gathered when ``torch.distributed`` is initialised) and wrap around.

    The features are the pooled ``feats.vision`` / ``feats.text`` - for videos the vision
    encoder's CLS averaged over frames - after the universal layers when the model has them.

    **predict** writes, per data sample: ``image_embed`` ``[embed_dims]`` (images and videos) and
    ``text_embed`` ``[embed_dims]``, L2-normalised (each only when the batch has that modality),
    and ``itc_score`` = their cosine similarity when it has both. A retrieval metric ranks with
    ``image_embed @ text_embed`` over the whole split.
    """
    requires = ('vision', 'text')

    def __init__(self, vision_dims=768, text_dims=768, embed_dims=256, temperature=0.07,
                 temperature_range=(0.001, 0.5), queue_size=65536, momentum=0.995, alpha=0.4,
                 id_field=None, loss_weight=1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        for name, value in dict(vision_dims=vision_dims, text_dims=text_dims,
                                embed_dims=embed_dims).items():
            check_positive(name, value)
        if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 0:
            raise ValueError(f'queue_size must be an integer >= 0, got {queue_size!r}')
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must be in [0, 1], got {momentum!r}')
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha!r}')
        low, high = temperature_range
        if not 0.0 < low <= temperature <= high:
            raise ValueError(f'temperature must be > 0 and inside temperature_range '
                             f'{tuple(temperature_range)}, got {temperature!r}')
        self.in_dims = {'vision': vision_dims, 'text': text_dims}
        self.embed_dims, self.queue_size = embed_dims, queue_size
        self.momentum, self.alpha, self.id_field = float(momentum), float(alpha), id_field
        self.temperature_range, self.loss_weight = (float(low), float(high)), loss_weight
        self.vision_proj = nn.Linear(vision_dims, embed_dims)     # g_v
        self.text_proj = nn.Linear(text_dims, embed_dims)         # g_w
        self.temp = nn.Parameter(torch.tensor(float(temperature)))
        self.momentum_model = None
        if self.uses_momentum:
            self.register_buffer('momentum_ready', torch.zeros((), dtype=torch.long))
        if queue_size:
            for name in ('image_queue', 'text_queue'):             # [Q, D] random unit keys
                self.register_buffer(name, F.normalize(torch.randn(queue_size, embed_dims), dim=-1))
            if id_field is not None:
                self.register_buffer('idx_queue', torch.full((queue_size, ), NO_ID))
            self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))

    @property
    def uses_momentum(self):
        return self.queue_size > 0 or self.alpha > 0

    # ------------------------------------------------------------------ momentum model
    def bind(self, model, name=None):
        """Make the frozen momentum copies of the unimodal path (see the class docstring)."""
        super().bind(model, name)
        if not self.uses_momentum:
            return
        self.momentum_model = model.momentum_copy()
        self.momentum_model.update(dict(vision_proj=frozen_copy(self.vision_proj),
                                        text_proj=frozen_copy(self.text_proj)))

    def _momentum_pairs(self):
        """``(online parameters, momentum parameters)`` in matching order."""
        online, shadow = self.momentum_model.parameter_pairs()
        for name in ('vision_proj', 'text_proj'):
            online += list(getattr(self, name).parameters())
            shadow += list(self.momentum_model[name].parameters())
        return online, shadow

    @torch.no_grad()
    def momentum_update(self):
        """EMA step ``m <- momentum * m + (1 - momentum) * online``; the first call copies."""
        online, shadow = self._momentum_pairs()
        if not bool(self.momentum_ready):
            for s, o in zip(shadow, online):
                s.copy_(o)
            self.momentum_ready.fill_(1)
            return
        torch._foreach_mul_(shadow, self.momentum)
        torch._foreach_add_(shadow, [o.to(s.dtype) for s, o in zip(shadow, online)],
                            alpha=1.0 - self.momentum)

    @torch.no_grad()
    def _momentum_keys(self, inputs):
        """Momentum image and text keys ``[B, D]`` of the batch (unimodal path, no grad)."""
        if self.momentum_model is None:
            raise RuntimeError('ITCHead has no momentum model: it must be bound to a composed '
                               'model (bind) before computing a loss')
        m = self.momentum_model
        vision, text = m(inputs)
        return (F.normalize(m['vision_proj'](vision.pooled), dim=-1),
                F.normalize(m['text_proj'](text.pooled), dim=-1))

    # ------------------------------------------------------------------ queues
    @torch.no_grad()
    def enqueue(self, image_keys, text_keys, ids=None):
        """Write the keys of every process (``[B, D]`` here) at ``queue_ptr``, wrapping around.

        If more keys arrive than the queue holds, the newest ``queue_size`` are kept.
        """
        image_keys, text_keys = concat_all_gather(image_keys), concat_all_gather(text_keys)
        ids = concat_all_gather(ids) if ids is not None else None
        n = min(image_keys.shape[0], self.queue_size)
        ptr = int(self.queue_ptr)
        slots = (ptr + torch.arange(n, device=self.image_queue.device)) % self.queue_size
        self.image_queue[slots] = image_keys[-n:].to(self.image_queue.dtype)
        self.text_queue[slots] = text_keys[-n:].to(self.text_queue.dtype)
        if ids is not None and hasattr(self, 'idx_queue'):
            self.idx_queue[slots] = ids[-n:]
        self.queue_ptr.fill_((ptr + n) % self.queue_size)

    # ------------------------------------------------------------------ features and loss
    def embed(self, feats, stream):
        """L2-normalised projection of a stream's pooled feature: ``[B, embed_dims]``."""
        proj = self.vision_proj if stream == 'vision' else self.text_proj
        return F.normalize(proj((feats.unimodal or feats).pooled), dim=-1)

    def logit_scale(self):
        """``1 / tau``: the factor from the embeddings' cosine similarity to the ITC logit."""
        return 1.0 / float(self.temp.clamp(*self.temperature_range))

    @torch.no_grad()
    def similarity(self, feats):
        """In-batch image-to-text similarity ``[B, B]`` of the online embeddings / tau.

        Used by :class:`~.matching.ITMHead` to sample hard negatives (transpose for text-to-image).
        """
        image = self.embed(feats.require('vision', 'ITCHead'), 'vision')   # [B, D]
        text = self.embed(feats.require('text', 'ITCHead'), 'text')        # [B, D]
        return image @ text.t() / self.temp.clamp(*self.temperature_range)

    @staticmethod
    def _targets(ids, key_ids, batch, num_keys, device):
        """Ground truth ``y`` ``[B, K]``: the own pair (key ``i`` for row ``i``) or, with ids,
        every key of the same id, normalised to sum 1."""
        if ids is None:
            targets = torch.zeros(batch, num_keys, device=device)
            targets[:, :batch] = torch.eye(batch, device=device)
            return targets
        positive = (ids[:, None] == key_ids[None, :]).float()              # [B, K]
        return positive / positive.sum(dim=1, keepdim=True)

    def loss(self, feats, data_samples):
        vision = feats.require('vision', type(self).__name__)
        text = feats.require('text', type(self).__name__)
        with torch.no_grad():
            self.temp.clamp_(*self.temperature_range)
        image_feat = self.embed(vision, 'vision')                            # [B, D]
        text_feat = self.embed(text, 'text')                                 # [B, D]
        b, device = image_feat.shape[0], image_feat.device
        ids = sample_ids(data_samples, self.id_field, device) if self.id_field else None
        soft_i2t = soft_t2i = None
        if not self.uses_momentum:                                           # in-batch, CLIP-style
            image_keys, text_keys, key_ids = image_feat, text_feat, ids
        else:
            with torch.no_grad():
                if self.training:
                    self.momentum_update()
                image_m, text_m = self._momentum_keys(feats.inputs)          # [B, D]
                image_keys, text_keys, key_ids = image_m, text_m, ids
                if self.queue_size:
                    image_keys = torch.cat([image_m, self.image_queue.clone()])   # [B+Q, D]
                    text_keys = torch.cat([text_m, self.text_queue.clone()])      # [B+Q, D]
                    if ids is not None:
                        key_ids = torch.cat([ids, self.idx_queue.clone()])
                if self.alpha > 0:                                           # ALBEF eq. (6)
                    soft_i2t = (image_m @ text_keys.t() / self.temp).float().softmax(dim=1)
                    soft_t2i = (text_m @ image_keys.t() / self.temp).float().softmax(dim=1)
        targets = self._targets(ids, key_ids, b, image_keys.shape[0], device)
        t_i2t = targets if soft_i2t is None else self.alpha * soft_i2t + (1 - self.alpha) * targets
        t_t2i = targets if soft_t2i is None else self.alpha * soft_t2i + (1 - self.alpha) * targets
        sim_i2t = (image_feat @ text_keys.t() / self.temp).float()           # [B, K]  eq. (1)
        sim_t2i = (text_feat @ image_keys.t() / self.temp).float()           # [B, K]
        loss_i2t = -(F.log_softmax(sim_i2t, dim=1) * t_i2t).sum(dim=1).mean()
        loss_t2i = -(F.log_softmax(sim_t2i, dim=1) * t_t2i).sum(dim=1).mean()
        if self.training and self.queue_size:
            self.enqueue(image_keys[:b], text_keys[:b], ids)
        return {'loss_itc': (loss_i2t + loss_t2i) / 2 * self.loss_weight}   # eq. (2)

    def predict(self, feats, data_samples):
        image = self.embed(feats.vision, 'vision').detach() if feats.vision is not None else None
        text = self.embed(feats.text, 'text').detach() if feats.text is not None else None
        for i, sample in enumerate(data_samples):
            if image is not None:
                sample.image_embed = image[i]
            if text is not None:
                sample.text_embed = text[i]
            if image is not None and text is not None:
                sample.itc_score = (image[i] * text[i]).sum()
        return data_samples
