"""``ClassificationHead``: pooled feature -> logits (image, video and text classification)."""
import torch
import torch.nn.functional as F
from torch import nn

from mplug_registry.model.base import BaseHead
from mplug_registry.registry import MODELS


@MODELS.register_module()
class ClassificationHead(BaseHead):
    """Linear classifier on the pooled feature of one stream.

    Args:
        num_classes: number of classes.
        in_dims: size of the pooled feature.
        stream: which features to classify: ``vision`` (image/video) or ``text``.
        label_smoothing: cross-entropy label smoothing.
        dropout: dropout before the classifier.
        topk: top-k indices to keep as ``pred_topk`` on predictions.
    """

    def __init__(self, num_classes, in_dims, stream='vision', label_smoothing=0.0, dropout=0.0,
                 loss_weight=1.0, topk=(1, ), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if stream not in ('vision', 'text', 'fused'):
            raise ValueError(f"stream must be 'vision', 'text' or 'fused', got {stream!r}")
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}')
        self.stream = stream
        self.requires = (stream, )
        self.in_dims = {stream: in_dims}
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.loss_weight = loss_weight
        self.topk = tuple(topk)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dims, num_classes)

    def forward(self, feats):
        pooled = feats.require(self.stream, type(self).__name__).pooled   # [B, C]
        return self.fc(self.dropout(pooled))                              # [B, num_classes]

    def loss(self, feats, data_samples):
        logits = self(feats)
        labels = torch.stack([torch.as_tensor(s.gt_label).reshape(()) for s in data_samples])
        labels = labels.to(logits.device).long()
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing)
        acc = (logits.argmax(-1) == labels).float().mean()
        return {'loss_cls': loss * self.loss_weight, 'acc': acc.detach()}

    def predict(self, feats, data_samples):
        scores = self(feats).float().softmax(-1)
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score.detach()
            sample.pred_label = score.argmax().detach()
        return data_samples
