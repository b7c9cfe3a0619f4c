"""``GroundingHead``: visual grounding (referring expression -> box), mPLUG-2 Table 2 and Table 7.

mPLUG-2 Table 2 composes grounding from the text and image encoders, the universal layers, the
fusion module and the shared decoder: the box is produced as text by the decoder from the fused
features. Three paths, chosen by ``mode``:

* ``'decoder'`` (Table 2): the normalised box ``(x1, y1, x2, y2) / (W, H)`` is quantised into
  ``num_bins`` bins per coordinate; bin ``b`` is written as the number token ``"b"`` of the
  tokenizer's vocabulary (BERT's has ``0``..``99`` as single tokens), so the target text is e.g.
  ``"12 40 33 80"``. The shared decoder is trained with the LM loss on it (mPLUG-2 §3.2) from the
  fused memory and generates it greedily; the numbers are parsed back (:class:`BoxTokenizer`).
* ``'regression'`` (TransVG-style, Deng et al., 2021): an MLP on the fused [CLS] predicts the
  normalised ``(cx, cy, w, h)`` (sigmoid), trained with ``L = w_l1 * |b - b^|_1 + w_giou *
  (1 - GIoU(b, b^))`` (GIoU: Rezatofighi et al., 2019).
* ``'patch'`` (dense and one-stage: each image patch is a box anchor - CenterNet's centre points,
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

from mplug_registry.errors import ConfigError
from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS
from mplug_registry_plugins.metrics.grounding import paired_box_iou

MODES = ('decoder', 'regression', 'patch')


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


@MODELS.register_module()
class GroundingHead(BaseHead):
    """Box of the referring expression from the fused features (see the module docstring).

    Args:
        mode: ``'decoder'`` (box tokens generated by the shared decoder, mPLUG-2 Table 2),
            ``'regression'`` (MLP on the fused [CLS], L1 + GIoU) or ``'patch'`` (the fused [CLS]
            picks the visual patch holding the box centre; an MLP regresses the box from it).
        embed_dims: size of the fused features (768).
        num_bins: quantisation bins per coordinate in decoder mode (100: tokens ``0``..``99``).
        loss_l1_weight, loss_giou_weight: regression loss weights (1, 1 as TransVG).
        loss_weight: factor on ``loss_lm`` in decoder mode and on ``loss_patch`` in patch mode.
        patch_scores: patch mode only. ``'head'``: the head's own query/key projections score the
            patches. ``'fusion'``: the scores are the fusion's own last cross-attention from the
            fused [CLS] (log of the head-averaged attention probabilities), so the grounding loss
            teaches the fusion to look at the referred object; in multi-task training the other
            tasks' questions ("what shape is the red object?") then look there too. Needs a
            fusion that can keep its attention (``CrossAttentionFusion``).

    Writes ``pred_bboxes`` ``[1, 4]`` (xyxy, resized input pixels) and, in decoder mode,
    ``pred_box_valid`` (whether the generation parsed as four ordered numbers).
    """
    requires = ('vision', 'text', 'fused')

    def __init__(self, mode='decoder', embed_dims=768, num_bins=100, loss_l1_weight=1.0,
                 loss_giou_weight=1.0, loss_weight=1.0, patch_scores='head', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if patch_scores not in ('head', 'fusion'):
            raise ValueError(f"patch_scores must be 'head' or 'fusion', got {patch_scores!r}")
        self.patch_scores = patch_scores
        for name, value in dict(embed_dims=embed_dims, num_bins=num_bins).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'{name} must be a positive integer, got {value!r}')
        self.mode, self.num_bins = mode, num_bins
        self.loss_l1_weight, self.loss_giou_weight = loss_l1_weight, loss_giou_weight
        self.loss_weight = loss_weight
        self.in_dims = {'fused': embed_dims}
        self.box_tokenizer = None
        if mode in ('regression', 'patch'):
            in_mlp = embed_dims * (2 if mode == 'patch' else 1)
            self.bbox_mlp = nn.Sequential(nn.Linear(in_mlp, embed_dims), nn.ReLU(inplace=True),
                                          nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
                                          nn.Linear(embed_dims, 4))
        if mode == 'patch':
            self.in_dims = {'vision': embed_dims, 'fused': embed_dims}
            if patch_scores == 'head':
                self.query_proj = nn.Linear(embed_dims, embed_dims)
                self.key_proj = nn.Linear(embed_dims, embed_dims)
        elif mode == 'decoder':
            self.requires = ('vision', 'text', 'fused', 'decoder')

    def bind(self, model):
        """Decoder mode: check the decoder and tokenizer, build the :class:`BoxTokenizer`."""
        super().bind(model)
        name = next((n for n, h in model.heads.items() if h is self), 'grounding')
        if self.mode == 'patch' and self.patch_scores == 'fusion':
            if not hasattr(model.fusion, 'keep_attention'):
                raise ConfigError(f'model.heads.{name}.patch_scores', f"'fusion' needs a fusion "
                                  f'that keeps its attention (CrossAttentionFusion), got '
                                  f'{type(model.fusion).__name__}')
            model.fusion.keep_attention = True
        if self.mode != 'decoder':
            return
        tokenizer = getattr(model.data_preprocessor, 'tokenizer', None)
        if tokenizer is None:
            raise ConfigError('model.data_preprocessor.tokenizer', f"head '{name}' "
                              "(GroundingHead, mode='decoder') needs the tokenizer")
        if model.decoder.memory_stream != 'fused':
            raise ConfigError('model.decoder.memory_stream', f"head '{name}' decodes boxes from "
                              "the fused features: set memory_stream='fused'")
        try:
            self.box_tokenizer = BoxTokenizer(tokenizer, self.num_bins)
        except ValueError as err:
            raise ConfigError(f'model.heads.{name}.num_bins', str(err)) from None

    # ------------------------------------------------------------------ boxes
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
                raise ValueError("GroundingHead needs 'gt_bboxes' ([1, 4] xyxy) in every sample")
            boxes.append(torch.as_tensor(box).reshape(-1, 4)[0].float())
        scale = self._scale(feats)
        return torch.stack(boxes).to(scale.device) / scale                        # [B, 4]

    def regression_loss(self, pred_cxcywh, gt_xyxy):
        """``{loss_l1, loss_giou}`` of predicted ``(cx, cy, w, h)`` and target xyxy, normalised."""
        l1 = F.l1_loss(pred_cxcywh, xyxy_to_cxcywh(gt_xyxy), reduction='none').sum(1).mean()
        giou = paired_giou(cxcywh_to_xyxy(pred_cxcywh), gt_xyxy)
        return {'loss_l1': l1 * self.loss_l1_weight,
                'loss_giou': (1 - giou).mean() * self.loss_giou_weight}

    # ------------------------------------------------------------------ patch mode
    @staticmethod
    def _patch_grid(feats):
        """Patch tokens ``[B, L, C]`` (the class token dropped) and the grid ``(h, w)``."""
        tokens = feats.require('vision', 'GroundingHead').tokens[:, 1:]            # [B, L, C]
        img_h, img_w = feats.inputs['images'].shape[-2:]
        num = tokens.shape[1]
        h = max(1, round((num * img_h / img_w) ** 0.5))
        if num % h:
            raise ValueError(f"GroundingHead(mode='patch') cannot lay {num} visual tokens out as "
                             f'a grid of a {img_h} x {img_w} image (images only, one class token)')
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

    def _decoder_ids(self, decoder, boxes):
        """``[B, 6]``: bos, four box tokens, eos."""
        tokens = self.box_tokenizer.encode(boxes)                                 # [B, 4]
        bos = tokens.new_full((tokens.shape[0], 1), decoder.bos_token_id)
        eos = tokens.new_full((tokens.shape[0], 1), decoder.eos_token_id)
        return torch.cat([bos, tokens, eos], dim=1)

    # ------------------------------------------------------------------ loss and predict
    def loss(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        gt = self._gt(feats, data_samples)
        if self.mode == 'regression':
            return self.regression_loss(self.bbox_mlp(fused.pooled).float().sigmoid(), gt)
        if self.mode == 'patch':
            return self._patch_loss(feats, fused, gt)
        decoder = feats.decoder if feats.decoder is not None else self.model.decoder
        ids = self._decoder_ids(decoder, gt)
        loss = decoder.loss(fused.tokens, ids, torch.ones_like(ids), fused.mask, prompt_lengths=1)
        return {'loss_lm': loss * self.loss_weight}

    def predict(self, feats, data_samples):
        fused = feats.require('fused', type(self).__name__)
        scale = self._scale(feats)
        valid = None
        if self.mode == 'regression':
            boxes = cxcywh_to_xyxy(self.bbox_mlp(fused.pooled).float().sigmoid()).clamp(0, 1)
        elif self.mode == 'patch':
            scores, tokens, grid = self._patch_scores(feats, fused)
            boxes = cxcywh_to_xyxy(self._patch_boxes(tokens, fused, scores.argmax(dim=1),
                                                     grid)).clamp(0, 1)
        else:
            decoder = feats.decoder if feats.decoder is not None else self.model.decoder
            out = decoder.generate(fused.tokens, fused.mask, num_beams=1, max_length=5,
                                   min_length=4)
            parsed = [self.box_tokenizer.parse(seq) for seq in out.sequences]
            boxes = torch.stack([p[0] for p in parsed]).to(scale.device)
            valid = [p[1] for p in parsed]
        boxes = (boxes * scale).detach()                                          # [B, 4] pixels
        for i, sample in enumerate(data_samples):
            sample.pred_bboxes = boxes[i:i + 1]
            if valid is not None:
                sample.pred_box_valid = valid[i]
        return data_samples
