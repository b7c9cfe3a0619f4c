"""Data samples and feature records shared by every task.

:class:`MultimodalDataSample` is the one data-sample class of the project (an MMEngine
``BaseDataElement``). Datasets fill ``gt_*``/text fields, heads write ``pred_*`` fields, metrics
read only these fields. Known fields (all optional):

=================  ====================================================================
``text``           the text input (caption, sentence, referring expression)
``question``       VQA question;  ``answers`` / ``answer_weights``: ground-truth answers
``gt_label``       class index (int tensor);  ``pred_label`` / ``pred_score`` on output
``gt_caption``     reference captions (list of str);  ``pred_caption`` on output
``gt_bboxes``      boxes ``[N, 4]`` xyxy in input-image pixels;  ``pred_bboxes`` on output
``gt_masks``       masks;  ``pred_masks`` on output
``image_id``       / ``text_id``: identities for retrieval;  ``pred_scores`` on output
``task``           / ``instruction``: for multi-task batches
=================  ====================================================================
"""
import dataclasses
from typing import Optional

import torch
from mmengine.structures import BaseDataElement


class MultimodalDataSample(BaseDataElement):
    """Carries the annotations and predictions of one sample; see the module docstring."""

    def get_text(self, field='text', default=None):
        return self.get(field, default)


@dataclasses.dataclass
class Features:
    """Features of one modality: ``tokens [B, N, C]``, ``mask [B, N]`` (1 = keep) and ``pooled [B, C]``."""
    tokens: torch.Tensor
    mask: Optional[torch.Tensor] = None
    pooled: Optional[torch.Tensor] = None
    #: the same stream computed without the other modality, when a layer mixed them (universal
    #: layers with vision and text): what contrastive heads should align
    unimodal: Optional['Features'] = None
    #: log attention probabilities ``[B, H, N, Nv]`` of these tokens over the visual tokens in the
    #: last cross-attention that made them, when a head asked the fusion for them (attention losses)
    attention: Optional[torch.Tensor] = None
    #: ``(frames, h, w)`` of visual patch tokens laid out as ``[first token; frame 1 patches
    #: row by row; frame 2 ...]`` (set by vision encoders, kept by layers that keep the tokens):
    #: what a module that needs each token's place in the image reads (``None``: unknown)
    grid: Optional[tuple] = None

    @property
    def dims(self):
        return self.tokens.shape[-1]


@dataclasses.dataclass
class FeatureBundle:
    """What the slots produced for one batch; the input of every head."""
    vision: Optional[Features] = None
    text: Optional[Features] = None
    fused: Optional[Features] = None
    #: the neck's multi-scale maps, a tuple of ``[B, C_i, H_i, W_i]`` (dense tasks)
    maps: Optional[tuple] = None
    inputs: dict = dataclasses.field(default_factory=dict)
    decoder: Optional[torch.nn.Module] = None
    #: the encoders' outputs before the universal layers, by stream (only when the model has
    #: universal layers; heads that pair the modalities anew start from them)
    encoded: dict = dataclasses.field(default_factory=dict)

    def require(self, stream, head_name):
        feats = getattr(self, stream)
        if feats is None:
            raise ValueError(f"head '{head_name}' needs {stream} features, which this batch "
                             'does not have (check the inputs and the model slots)')
        return feats

    def as_tensors(self):
        """Flat dict of tensors (the result of ``forward(mode='tensor')``)."""
        out = {}
        for name in ('vision', 'text', 'fused'):
            feats = getattr(self, name)
            if feats is not None:
                out[name] = feats.tokens
                if feats.pooled is not None:
                    out[f'{name}_pooled'] = feats.pooled
        for i, level in enumerate(self.maps or ()):
            out[f'maps_{i}'] = level
        return out
