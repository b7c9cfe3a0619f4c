"""The fixed vocabulary of component kinds.

Every registered component has exactly one kind. Model components (``encoder`` ... ``task``) get it
from their base class (:mod:`mplug_registry.model.base`) or from ``register_module(kind=...)``;
datasets, transforms and metrics get it from the registry they are registered in.
"""
MODEL_KINDS = ('encoder', 'universal', 'fusion', 'decoder', 'head', 'task')
DATA_KINDS = ('dataset', 'transform', 'metric')
OTHER_KINDS = ('other', )  # samplers, tokenizers, hooks, strategies: not composition slots
KINDS = MODEL_KINDS + DATA_KINDS + OTHER_KINDS
#: components of other OpenMMLab scopes (mmdet, mmseg, mmengine) have no kind of ours
EXTERNAL = 'external'


def kind_of_class(obj):
    """The kind declared by a class (its ``mplug_kind`` attribute), or None."""
    return getattr(obj, 'mplug_kind', None)
