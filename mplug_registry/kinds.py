"""The fixed vocabulary of component kinds.

Every registered component has exactly one kind. Model components (``encoder`` ... ``task``) get it
from their base class (:mod:`mplug_registry.model.base`) or from ``register_module(kind=...)``;
datasets, transforms and metrics get it from the registry they are registered in.
"""
MODEL_KINDS = ('encoder', 'universal', 'neck', 'fusion', 'decoder', 'head', 'task')
DATA_KINDS = ('dataset', 'transform', 'metric')
OTHER_KINDS = ('other', )  # samplers, tokenizers, hooks, strategies: not composition slots
KINDS = MODEL_KINDS + DATA_KINDS + OTHER_KINDS
#: components of other OpenMMLab scopes (mmdet, mmseg, mmengine) have no kind of ours
EXTERNAL = 'external'
#: the kind declared for other scopes' components by the package their class lives in
EXTERNAL_KINDS = {
    'mmdet.models.necks': 'neck', 'mmseg.models.necks': 'neck', 'mmpretrain.models.necks': 'neck',
    'mmdet.models.backbones': 'encoder', 'mmseg.models.backbones': 'encoder',
    'mmdet.models.dense_heads': 'head', 'mmdet.models.roi_heads': 'head',
    'mmseg.models.decode_heads': 'head',
}


def external_kind(obj):
    """The declared kind of another scope's class (:data:`EXTERNAL_KINDS`), else ``'external'``."""
    module = getattr(obj, '__module__', '') or ''
    return next((kind for prefix, kind in EXTERNAL_KINDS.items()
                 if module == prefix or module.startswith(prefix + '.')), EXTERNAL)


def kind_of_class(obj):
    """The kind declared by a class (its ``mplug_kind`` attribute), or None."""
    return getattr(obj, 'mplug_kind', None)
