"""``ClassificationHead``: pooled feature -> logits (image, video and text classification), or a
score (regression, e.g. GLUE's STS-B)."""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS


@MODELS.register_module()
class ClassificationHead(BaseHead):
    """Linear classifier on the pooled feature of one stream.

    Args:
        num_classes: number of classes; ``1`` makes a regression head (mean squared error on a
            float ``gt_label``, ``pred_score`` the predicted value), as for GLUE's STS-B.
        in_dims: size of the pooled feature.
        stream: which features to classify: ``vision`` (image/video) or ``text``.
        pool: ``'first'`` (the stream's ``pooled`` feature: ``[CLS]`` / token 0) or ``'mean'``
            (mean of the unmasked tokens, as sentence-embedding models such as MiniLM pool).
        label_smoothing: cross-entropy label smoothing.
        dropout: dropout before the classifier.
        topk: top-k indices to keep as ``pred_topk`` on predictions.
    """

    def __init__(self, num_classes, in_dims, stream='vision', pool='first', label_smoothing=0.0,
                 dropout=0.0, loss_weight=1.0, topk=(1, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if stream not in ('vision', 'text', 'fused'):
            raise ValueError(f"stream must be 'vision', 'text' or 'fused', got {stream!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be an integer >= 1 (1: regression), got '
                             f'{num_classes!r}')
        if pool not in ('first', 'mean'):
            raise ValueError(f"pool must be 'first' or 'mean', got {pool!r}")
        self.stream, self.pool = stream, pool
        self.requires = (stream, )
        self.in_dims = {stream: in_dims}
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.loss_weight = loss_weight
        self.topk = tuple(topk)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dims, num_classes)

    @property
    def regression(self):
        return self.num_classes == 1

    def forward(self, feats):
        stream = feats.require(self.stream, type(self).__name__)
        if self.pool == 'mean' and stream.mask is not None:
            keep = stream.mask[..., None].to(stream.tokens.dtype)          # [B, L, 1]
            pooled = (stream.tokens * keep).sum(1) / keep.sum(1).clamp(min=1)
        elif self.pool == 'mean':
            pooled = stream.tokens.mean(1)
        else:
            pooled = stream.pooled                                        # [B, C]
        return self.fc(self.dropout(pooled))                              # [B, num_classes]

    def loss(self, feats, data_samples):
        logits = self(feats)
        labels = torch.stack([torch.as_tensor(s.gt_label).reshape(()) for s in data_samples])
        if self.regression:
            loss = F.mse_loss(logits.float()[:, 0], labels.to(logits.device).float())
            return {'loss_mse': loss * self.loss_weight}
        labels = labels.to(logits.device).long()
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing)
        acc = (logits.argmax(-1) == labels).float().mean()
        return {'loss_cls': loss * self.loss_weight, 'acc': acc.detach()}

    def predict(self, feats, data_samples):
        if self.regression:
            for sample, value in zip(data_samples, self(feats).float()[:, 0]):
                sample.pred_score = value.detach()
            return data_samples
        scores = self(feats).float().softmax(-1)
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score.detach()
            sample.pred_label = score.argmax().detach()
        return data_samples
