"""``GroundingHead``: visual grounding (referring expression -> box), mPLUG-2 Table 2 and Table 7.

mPLUG-2 Table 2 composes grounding from the text and image encoders, the universal layers, the
fusion module and the shared decoder: the box is produced as text by the decoder from the fused
features. Three heads, one per path (``GroundingHead(mode=...)`` builds the one a config names):

* ``'decoder'``, :class:`BoxDecodingHead` (Table 2): the normalised box ``(x1, y1, x2, y2) / (W, H)`` is quantised into
  ``num_bins`` bins per coordinate; bin ``b`` is written as the number token ``"b"`` of the
  tokenizer's vocabulary (BERT's has ``0``..``99`` as single tokens), so the target text is e.g.
  ``"12 40 33 80"``. The shared decoder is trained with the LM loss on it (mPLUG-2 §3.2) from the
  fused memory and generates it greedily; the numbers are parsed back (:class:`BoxTokenizer`).
* ``'regression'``, :class:`BoxRegressionHead` (TransVG-style, Deng et al., 2021): an MLP on the fused [CLS] predicts the
  normalised ``(cx, cy, w, h)`` (sigmoid), trained with ``L = w_l1 * |b - b^|_1 + w_giou *
  (1 - GIoU(b, b^))`` (GIoU: Rezatofighi et al., 2019).
* ``'patch'``, :class:`PatchGroundingHead` (dense and one-stage: each image patch is a box anchor - CenterNet's centre points,
  Zhou et al., 2019, on the ViT's patch grid): the expression's fused [CLS] ``q`` scores every
  visual patch token ``v_i``, ``s_i = (W_q q) . (W_k v_i) / sqrt(C)``; the patch holding the box
  centre is the target of a cross-entropy over the ``h x w`` patches, and an MLP on ``[v_i; q]``
  regresses the centre's offset inside that patch (sigmoid) and the box size, with the L1 + GIoU
  loss above on the box of the target patch. Prediction: the box of the best-scoring patch. Every
  patch gets a training signal in every step, which a single pooled regression does not give: on
  the shapes set it is the mode that learns in CPU minutes.

**Box frame.** ``gt_bboxes`` ``[1, 4]`` are xyxy pixels of the *input image* after the pipeline
(``ImageResize`` scales them with the image). The head normalises them by the input tensor's
``(W, H)`` and writes ``pred_bboxes`` ``[1, 4]`` xyxy in that same resized input frame, so the
metric compares both in one frame. ``RandomFlip`` keeps a sample consistent (it flips the box and
swaps "left"/"right" in the expression); crops are not supported for grounding (they can cut the box).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.builder import constructor_params
from mplug_registry.checks import check_positive
from mplug_registry.errors import ConfigError, close_match
from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS
from mplug_registry_plugins.metrics.grounding import paired_box_iou



def cxcywh_to_xyxy(boxes):  # [N, 4] -> [N, 4]
    cxcy, wh = boxes[:, :2], boxes[:, 2:]
    return torch.cat([cxcy - wh / 2, cxcy + wh / 2], dim=1)


def xyxy_to_cxcywh(boxes):  # [N, 4] -> [N, 4]
    return torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], dim=1)


def paired_giou(boxes1, boxes2):
    """Generalised IoU ``IoU - |C \\ U| / |C|`` of ``boxes1[i]`` and ``boxes2[i]`` (``[N, 4]`` xyxy)
    with ``C`` the smallest enclosing box; in ``[-1, 1]``."""
    iou = paired_box_iou(boxes1, boxes2)                                          # [N]
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).clamp(min=0).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).clamp(min=0).prod(dim=1)
    union = (area1 + area2) / (1 + iou)                     # inter = iou * union
    lt = torch.minimum(boxes1[:, :2], boxes2[:, :2])
    rb = torch.maximum(boxes1[:, 2:], boxes2[:, 2:])
    hull = (rb - lt).clamp(min=0).prod(dim=1).clamp(min=1e-7)                     # [N]
    return iou - (hull - union) / hull


class BoxTokenizer:
    """Normalised xyxy boxes <-> number tokens ``"0"``..``"num_bins-1"`` of a tokenizer.

    Coordinate ``v`` in ``[0, 1]`` goes to bin ``min(floor(v * num_bins), num_bins - 1)`` and
    back to the bin centre ``(b + 0.5) / num_bins``: the round trip is within half a bin.
    """

    def __init__(self, tokenizer, num_bins):
        numbers = [str(b) for b in range(num_bins)]
        ids = tokenizer([' '.join(numbers)], max_length=8 * num_bins + 2)['input_ids'][0].tolist()
        ids = [i for i in ids if i not in (getattr(tokenizer, 'cls_token_id', None),
                                           getattr(tokenizer, 'sep_token_id', None))]
        if len(ids) != num_bins:
            raise ValueError(f'the tokenizer does not spell each of the numbers 0..{num_bins - 1} '
                             f'as one token ({len(ids)} tokens): use fewer num_bins')
        self.num_bins = num_bins
        self.token_ids = torch.tensor(ids)                                        # [num_bins]
        self.bin_of = {t: b for b, t in enumerate(ids)}

    def quantize(self, boxes):
        """``[N, 4]`` normalised -> bins ``[N, 4]`` long."""
        return (boxes.clamp(0, 1) * self.num_bins).floor().long().clamp(max=self.num_bins - 1)

    def dequantize(self, bins):
        return (bins.float() + 0.5) / self.num_bins

    def encode(self, boxes):
        """``[N, 4]`` normalised -> token ids ``[N, 4]``."""
        return self.token_ids.to(boxes.device)[self.quantize(boxes)]

    def parse(self, tokens):
        """Generated token ids -> ``(box [4] normalised xyxy, valid)``.

        Valid: exactly four number tokens with ``x1 <= x2`` and ``y1 <= y2``. Otherwise the
        first four number tokens are used with each pair sorted; fewer than four give the whole
        image ``(0, 0, 1, 1)``.
        """
        tokens = tokens.tolist() if hasattr(tokens, 'tolist') else list(tokens)
        bins = [self.bin_of[t] for t in tokens if t in self.bin_of]
        if len(bins) < 4:
            return torch.tensor([0.0, 0.0, 1.0, 1.0]), False
        x1, y1, x2, y2 = bins[:4]
        valid = len(bins) == len(tokens) == 4 and x1 <= x2 and y1 <= y2
        box = torch.tensor([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)])
        return self.dequantize(box), valid


class _BoxHead(BaseHead):
    """What the three grounding heads share: the box frame and the predicted boxes' field.

    Writes ``pred_bboxes`` ``[1, 4]`` (xyxy, resized input pixels) per sample.
    """
    requires = ('vision', 'text', 'fused')

    def __init__(self, embed_dims=768, loss_weight=1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = check_positive('embed_dims', embed_dims)
        self.loss_weight = loss_weight
        self.in_dims = {'fused': embed_dims}

    @staticmethod
    def _scale(feats):
        """``[4]`` ``(W, H, W, H)`` of the input images."""
        h, w = feats.inputs['images'].shape[-2:]
        return feats.inputs['images'].new_tensor([w, h, w, h]).float()

    def _gt(self, feats, data_samples):
        """Ground-truth boxes ``[B, 4]`` normalised xyxy."""
        boxes = []
        for sample in data_samples:
            box = sample.get('gt_bboxes')
            if box is None:
                raise ValueError(f"{type(self).__name__} needs 'gt_bboxes' ([1, 4] xyxy) in every "
                                 'sample')
            boxes.append(torch.as_tensor(box).reshape(-1, 4)[0].float())
        scale = self._scale(feats)
        return torch.stack(boxes).to(scale.device) / scale                        # [B, 4]

    def _write(self, feats, data_samples, boxes):
        """Normalised xyxy ``[B, 4]`` -> ``pred_bboxes`` in input pixels."""
        boxes = (boxes.to(self._scale(feats).device) * self._scale(feats)).detach()
        for i, sample in enumerate(data_samples):
            sample.pred_bboxes = boxes[i:i + 1]
        return data_samples


@MODELS.register_module()
class BoxRegressionHead(_BoxHead):
    """TransVG-style: an MLP on the fused [CLS] predicts the normalised ``(cx, cy, w, h)``.

    Args:
        embed_dims: size of the fused features (768).
        loss_l1_weight, loss_giou_weight: weights of ``L1 + GIoU`` (1, 1 as TransVG).
        mlp_in: input width of the box MLP (``embed_dims``; subclasses feed more).
    """

    def __init__(self, embed_dims=768, loss_l1_weight=1.0, loss_giou_weight=1.0,
                 loss_weight=1.0, init_cfg=None, mlp_in=None):
        super().__init__(embed_dims, loss_weight, init_cfg)
        self.loss_l1_weight, self.loss_giou_weight = loss_l1_weight, loss_giou_weight
        self.bbox_mlp = nn.Sequential(nn.Linear(mlp_in or embed_dims, embed_dims),
                                      nn.ReLU(inplace=True), nn.Linear(embed_dims, embed_dims),
                                      nn.ReLU(inplace=True), nn.Linear(embed_dims, 4))

    def regression_loss(self, pred_cxcywh, gt_xyxy):
        """``{loss_l1, loss_giou}`` of predicted ``(cx, cy, w, h)`` and target xyxy, normalised."""
        l1 = F.l1_loss(pred_cxcywh, xyxy_to_cxcywh(gt_xyxy), reduction='none').sum(1).mean()
        giou = paired_giou(cxcywh_to_xyxy(pred_cxcywh), gt_xyxy)
        return {'loss_l1': l1 * self.loss_l1_weight,
                'loss_giou': (1 - giou).mean() * self.loss_giou_weight}

    def loss(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        return self.regression_loss(self.bbox_mlp(fused.pooled).float().sigmoid(),
                                    self._gt(feats, data_samples))

    def predict(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        boxes = cxcywh_to_xyxy(self.bbox_mlp(fused.pooled).float().sigmoid()).clamp(0, 1)
        return self._write(feats, data_samples, boxes)


@MODELS.register_module()
class PatchGroundingHead(BoxRegressionHead):
    """Every visual patch is an anchor: the expression's fused [CLS] picks the patch holding the
    box centre (cross-entropy, ``loss_weight``), an MLP on ``[patch; CLS]`` regresses the box.

    Args:
        patch_scores: ``'head'``: the head's own query/key projections score the patches.
            ``'fusion'``: the scores are the fusion's own last cross-attention from the fused
            [CLS] (log of the head-averaged attention probabilities), so the grounding loss
            teaches the fusion to look at the referred object; the head then ``needs`` the
            fusion's attention, which the composed model arranges (``CrossAttentionFusion``).
        Others as :class:`BoxRegressionHead`.
    """

    def __init__(self, embed_dims=768, loss_l1_weight=1.0, loss_giou_weight=1.0,
                 loss_weight=1.0, patch_scores='head', init_cfg=None):
        if patch_scores not in ('head', 'fusion'):
            raise ValueError(f"patch_scores must be 'head' or 'fusion', got {patch_scores!r}")
        super().__init__(embed_dims, loss_l1_weight, loss_giou_weight, loss_weight, init_cfg,
                         mlp_in=2 * embed_dims if isinstance(embed_dims, int) else None)
        self.patch_scores = patch_scores
        self.in_dims = {'vision': embed_dims, 'fused': embed_dims}
        if patch_scores == 'fusion':
            self.needs = ('fusion_attention', )
        else:
            self.query_proj = nn.Linear(embed_dims, embed_dims)
            self.key_proj = nn.Linear(embed_dims, embed_dims)

    @staticmethod
    def _patch_grid(feats):
        """Patch tokens ``[B, L, C]`` (the class token dropped) and the grid ``(h, w)``."""
        tokens = feats.require('vision', 'PatchGroundingHead').tokens[:, 1:]       # [B, L, C]
        img_h, img_w = feats.inputs['images'].shape[-2:]
        num = tokens.shape[1]
        h = max(1, round((num * img_h / img_w) ** 0.5))
        if num % h:
            raise ValueError(f'PatchGroundingHead cannot lay {num} visual tokens out as a grid '
                             f'of a {img_h} x {img_w} image (images only, one class token)')
        return tokens, (h, num // h)

    def _patch_scores(self, feats, fused):
        """``s_i`` ``[B, L]``, the patch tokens and the grid."""
        tokens, grid = self._patch_grid(feats)
        if self.patch_scores == 'fusion':
            # log of the head-averaged attention of the fused [CLS] over the patches
            log_attn = fused.attention[:, :, 0, 1:]                                # [B, H, L]
            scores = log_attn.logsumexp(1) - math.log(log_attn.shape[1])           # [B, L]
            return scores, tokens, grid
        query = self.query_proj(fused.pooled)                                      # [B, C]
        keys = self.key_proj(tokens)                                               # [B, L, C]
        scores = torch.einsum('bc,blc->bl', query, keys) / keys.shape[-1] ** 0.5
        return scores.float(), tokens, grid

    def _patch_boxes(self, tokens, fused, index, grid):
        """Normalised ``(cx, cy, w, h)`` ``[B, 4]`` regressed from patch ``index`` ``[B]``."""
        h, w = grid
        rows = torch.arange(len(index), device=index.device)
        out = self.bbox_mlp(torch.cat([tokens[rows, index], fused.pooled], dim=-1)).float()
        cell = torch.stack([index % w, torch.div(index, w, rounding_mode='floor')], dim=1)
        size = out.new_tensor([w, h])
        return torch.cat([(cell + out[:, :2].sigmoid()) / size, out[:, 2:].sigmoid()], dim=1)

    def _patch_loss(self, feats, fused, gt):
        scores, tokens, (h, w) = self._patch_scores(feats, fused)
        centre = xyxy_to_cxcywh(gt)[:, :2].clamp(0, 1 - 1e-6)                      # [B, 2]
        col = (centre[:, 0] * w).floor().long()
        row = (centre[:, 1] * h).floor().long()
        target = row * w + col                                                     # [B]
        losses = self.regression_loss(self._patch_boxes(tokens, fused, target, (h, w)), gt)
        losses['loss_patch'] = F.cross_entropy(scores, target) * self.loss_weight
        return losses

    def loss(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        return self._patch_loss(feats, fused, self._gt(feats, data_samples))

    def predict(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        scores, tokens, grid = self._patch_scores(feats, fused)
        boxes = self._patch_boxes(tokens, fused, scores.argmax(dim=1), grid)
        return self._write(feats, data_samples, cxcywh_to_xyxy(boxes).clamp(0, 1))


@MODELS.register_module()
class BoxDecodingHead(_BoxHead):
    """mPLUG-2 Table 2: the box as four number tokens generated by the shared decoder from the
    fused memory, trained with the LM loss (``loss_weight``); see :class:`BoxTokenizer`.

    Args:
        embed_dims: size of the fused features (768).
        num_bins: quantisation bins per coordinate (100: tokens ``0``..``99``).

    Also writes ``pred_box_valid`` (whether the generation parsed as four ordered numbers).
    """
    requires = ('vision', 'text', 'fused', 'decoder')

    def __init__(self, embed_dims=768, num_bins=100, loss_weight=1.0, init_cfg=None):
        super().__init__(embed_dims, loss_weight, init_cfg)
        self.num_bins = check_positive('num_bins', num_bins)
        self.box_tokenizer = None

    def bind(self, model, name=None):
        """Check the decoder and tokenizer, build the :class:`BoxTokenizer`."""
        super().bind(model, name)
        if model.tokenizer is None:
            raise ConfigError('model.data_preprocessor.tokenizer', f"head '{self.name}' "
                              '(BoxDecodingHead) needs the tokenizer')
        if model.memory_streams(self) != ('fused', ):
            raise ConfigError('model.decoder.memory_stream', f"head '{self.name}' decodes "
                              "boxes from the fused features: set memory_stream='fused'")
        try:
            self.box_tokenizer = BoxTokenizer(model.tokenizer, self.num_bins)
        except ValueError as err:
            raise ConfigError(f'model.heads.{self.name}.num_bins', str(err)) from None

    def _decoder_ids(self, decoder, boxes):
        """``[B, 6]``: bos, four box tokens, eos."""
        tokens = self.box_tokenizer.encode(boxes)                                 # [B, 4]
        bos = tokens.new_full((tokens.shape[0], 1), decoder.bos_token_id)
        eos = tokens.new_full((tokens.shape[0], 1), decoder.eos_token_id)
        return torch.cat([bos, tokens, eos], dim=1)

    def loss(self, feats, data_samples):
        decoder, fused = self.model.decoder_memory(feats, type(self).__name__)
        ids = self._decoder_ids(decoder, self._gt(feats, data_samples))
        loss = decoder.loss(fused.tokens, ids, torch.ones_like(ids), fused.mask, prompt_lengths=1)
        return {'loss_lm': loss * self.loss_weight}

    def predict(self, feats, data_samples):
        decoder, fused = self.model.decoder_memory(feats, type(self).__name__)
        out = decoder.generate(fused.tokens, fused.mask, num_beams=1, max_length=5, min_length=4)
        parsed = [self.box_tokenizer.parse(seq) for seq in out.sequences]
        self._write(feats, data_samples, torch.stack([p[0] for p in parsed]))
        for sample, (_, valid) in zip(data_samples, parsed):
            sample.pred_box_valid = valid
        return data_samples


#: ``GroundingHead(mode=...)`` -> the head of that path
MODES = {'decoder': BoxDecodingHead, 'regression': BoxRegressionHead,
         'patch': PatchGroundingHead}


@MODELS.register_module(kind='head')
def GroundingHead(mode='decoder', **kwargs):  # noqa: N802  (a config type name)
    """Visual grounding head of the path ``mode``: ``'decoder'`` (:class:`BoxDecodingHead`),
    ``'regression'`` (:class:`BoxRegressionHead`) or ``'patch'`` (:class:`PatchGroundingHead`);
    the other arguments are that head's."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {tuple(MODES)}, got {mode!r}')
    cls = MODES[mode]
    params = constructor_params(cls)
    for name in kwargs:
        if name not in params or name == 'mlp_in':
            match = close_match(name, params)
            raise ValueError(f"{cls.__name__} (mode={mode!r}) has no argument '{name}'"
                             + (f" (did you mean '{match}'?)" if match else ''))
    return cls(**kwargs)
