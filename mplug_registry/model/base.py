"""Base classes that give a component its kind and declare its hidden sizes.

Dimension contract, checked when a :class:`~mplug_registry.model.composed.ComposedModel` is built:
a component declares ``in_dims`` (stream -> hidden size it consumes) and ``out_dims``
(stream -> hidden size it produces). Streams are ``vision``, ``text``, ``fused`` and ``memory``
(what a decoder cross-attends to). A size of ``None`` means "any".
"""
from .._mmengine import import_mmengine_model

import_mmengine_model()
from mmengine.model import BaseModule  # noqa: E402


class Component(BaseModule):
    """A registered model part. ``mplug_kind`` is set by the subclasses below."""
    mplug_kind = None

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_dims = {}
        self.out_dims = {}


class BaseEncoder(Component):
    """``forward(...) -> Features``. ``modality`` is ``'vision'`` or ``'text'``."""
    mplug_kind = 'encoder'
    modality = 'vision'


class BaseUniversal(Component):
    """``forward(vision: Features | None, text: Features | None) -> (vision, text)``."""
    mplug_kind = 'universal'


class BaseNeck(Component):
    """``forward(vision: Features) -> tuple of maps [B, C_i, H_i, W_i]`` (multi-scale, dense tasks)."""
    mplug_kind = 'neck'


class BaseFusion(Component):
    """``forward(vision: Features, text: Features) -> Features`` (fused, text-side tokens)."""
    mplug_kind = 'fusion'


class BaseDecoder(Component):
    """``forward(memory, input_ids, ...) -> logits`` and ``generate(memory, ...)``.

    ``memory_stream`` names what it cross-attends to: ``fused``, ``vision`` or ``text``, or several
    joined by ``+`` (``vision+fused``: concatenated along the tokens; see :func:`memory_parts`).
    """
    mplug_kind = 'decoder'
    memory_stream = 'fused'


def memory_parts(decoder):
    """The streams a decoder's memory joins: ``'vision+fused'`` -> ``('vision', 'fused')``.

    ``decoder``: a decoder (its ``memory_stream``, ``'fused'`` when it declares none) or the
    ``memory_stream`` string itself.
    """
    stream = decoder if isinstance(decoder, str) else getattr(decoder, 'memory_stream', 'fused')
    return tuple(stream.split('+'))


class BaseHead(Component):
    """A task head: ``loss(feats, data_samples) -> dict`` and ``predict(feats, data_samples)``.

    ``requires`` lists the streams (``vision``, ``text``, ``maps``, ``fused``, ``decoder``) the
    head reads, so composition can report a missing slot before training starts. ``needs`` lists
    what the head needs other slots to do for it, which the composed model arranges at build
    (``'fusion_attention'``: the fusion keeps its last cross-attention); a head never changes
    another slot itself.
    """
    mplug_kind = 'head'
    requires = ('vision', )
    needs = ()
    name = None

    def bind(self, model, name=None):
        """Called once by the composed model after every slot is built, with the head's name.

        Heads that must re-run parts of the model (ITM on negative pairs, MLM on masked text,
        momentum copies for ITC) call the data-flow API of :attr:`model`
        (:class:`~mplug_registry.model.flow.DataFlow`). The reference is not a submodule, so the
        model's parameters are not counted or saved twice.
        """
        object.__setattr__(self, '_model', model)
        object.__setattr__(self, 'name', name or self.name or type(self).__name__)

    @property
    def model(self):
        model = self.__dict__.get('_model')
        if model is None:
            raise RuntimeError(f'{type(self).__name__} is not bound to a composed model')
        return model

    def loss(self, feats, data_samples):
        raise NotImplementedError

    def predict(self, feats, data_samples):
        raise NotImplementedError
