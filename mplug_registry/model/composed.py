"""``ComposedModel``: one model class for every task, built from slots by kind (mPLUG-2 Fig. 2).

::

    inputs ─► data preprocessor ─► vision_encoder ─┐
                                   text_encoder  ──┤
                                                   ▼
                                   universal  (optional)  ─►  neck (optional, multi-scale maps)
                                                   ▼
                                   fusion (optional)
                                                   ▼
                               heads ◄── decoder (for generative heads)

A task is which slots are filled and which heads run; nothing here knows task names. All task
logic is in :meth:`forward` and the data preprocessor, so the contract also holds under MMEngine's
DeepSpeed wrapper, which calls ``forward(mode='loss')`` directly and skips ``train_step``. Heads
and loops reach the slots only through the data-flow API of :class:`~.flow.DataFlow`.
"""
import inspect

import torch

from .._mmengine import import_mmengine_model

import_mmengine_model()   # before mmengine.model: keeps transformers out of a plain build
from mmengine.model import BaseModel  # noqa: E402

from ..builder import build_component  # noqa: E402
from ..errors import ConfigError, DimensionMismatchError  # noqa: E402
from ..kinds import external_kind  # noqa: E402
from ..structures import FeatureBundle  # noqa: E402
from .base import memory_parts  # noqa: E402
from .flow import PRODUCERS, SLOTS, DataFlow  # noqa: E402
from .routing import check_task_heads, group_by_task, select  # noqa: E402

__all__ = ['ComposedModel', 'SLOTS', 'count_params']


def count_params(module):
    return sum(p.numel() for p in module.parameters()) if module is not None else 0


def _external_dims(module):
    """``(in_dims, out_dims)`` of another scope's neck from its OpenMMLab arguments
    (``in_channels`` of the first level, ``out_channels``)."""
    first = getattr(module, 'in_channels', None)
    first = first[0] if isinstance(first, (list, tuple)) and first else first
    out = getattr(module, 'out_channels', None)
    return ({'vision': first} if isinstance(first, int) else {},
            {'maps': out} if isinstance(out, int) else {})


class ComposedModel(DataFlow, BaseModel):
    """Encoders + universal layers + neck + fusion + decoder + heads, each slot built from config.

    Args:
        vision_encoder, text_encoder: configs of ``encoder`` components.
        universal: config of a ``universal`` component (mPLUG-2 universal layers).
        neck: config of a ``neck`` (vision features -> multi-scale maps, for dense heads); a neck
            of another OpenMMLab scope (``type='mmdet.FPN'``) reads the patch tokens as one map.
        fusion: config of a ``fusion`` component.
        decoder: config of a ``decoder`` component.
        heads: ``{name: head config}``; every head contributes losses and predictions. Loss keys
            are always ``<head name>.<loss>`` (``cls.loss_cls``), however many heads there are.
        task_heads: for multi-task training, ``{task: head name | [head names]}``: a data sample
            of that ``task`` (its dataset's ``METAINFO['task']``) goes to those heads only; a
            batch mixing tasks is split by task (:mod:`.routing`). ``None``: every head sees every
            sample.
        required_slots: slots the task needs beyond what its heads declare.
        data_preprocessor: defaults to ``MultimodalDataPreprocessor``.

    Build-time checks (each a one-line :class:`ConfigError` naming the key): the kind of each
    slot, the slots each head requires, hidden sizes of connected slots, the tokenizer's vocabulary
    against the slots' embeddings and special ids, what each head ``needs`` of other slots.
    """
    mplug_kind = 'task'

    def __init__(self, vision_encoder=None, text_encoder=None, universal=None, neck=None,
                 fusion=None, decoder=None, heads=None, required_slots=(), task_heads=None,
                 data_preprocessor=None, init_cfg=None):
        from ..registry import MODELS
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultimodalDataPreprocessor')
        data_preprocessor = build_component(data_preprocessor, 'model.data_preprocessor',
                                            registry=MODELS)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not heads:
            raise ConfigError('model.heads', 'a composed model needs at least one head',
                              "e.g. heads=dict(cls=dict(type='ClassificationHead', ...))")
        if not isinstance(heads, dict):
            raise ConfigError('model.heads', f'must be a dict of head configs by name, got '
                              f'{type(heads).__name__}', "e.g. heads=dict(cls=dict(type=...))")
        cfgs = dict(vision_encoder=vision_encoder, text_encoder=text_encoder, universal=universal,
                    neck=neck, fusion=fusion, decoder=decoder)
        self._check_required(cfgs, required_slots)
        streams = {}  # stream -> (slot that produces it, hidden size)
        for slot, kind in SLOTS.items():
            module = None
            if cfgs[slot] is not None:
                module = build_component(cfgs[slot], f'model.{slot}', kind)
                self._check_modality(slot, module)
                self._connect(slot, module, streams)
            setattr(self, slot, module)
        self._stream_sizes = {stream: dims for stream, (_, dims) in streams.items()}
        self.heads = torch.nn.ModuleDict()
        for name, cfg in heads.items():
            head = build_component(cfg, f'model.heads.{name}', 'head')
            if not hasattr(head, 'loss') or not hasattr(head, 'predict') \
                    or not hasattr(head, 'mplug_kind'):
                raise ConfigError(f'model.heads.{name}', f'{type(head).__name__} is a head of '
                                  "another toolbox, which runs inside that toolbox's model, not "
                                  'on composed features', 'use it in an mmdet/mmseg model config '
                                  "with type='mplug_registry.<backbone>' as its backbone")
            self._check_head_inputs(name, head, streams, self.decoder is not None)
            self._connect(f'heads.{name}', head, streams)
            self.heads[name] = head
        self._check_vocab()
        for name, head in self.heads.items():
            self._arrange_needs(name, head)
            self._bind(name, head)
        self.task_heads = check_task_heads(task_heads, list(self.heads))

    # ------------------------------------------------------------------ build-time checks
    @staticmethod
    def _check_required(cfgs, required_slots):
        present = {slot for slot, cfg in cfgs.items() if cfg is not None}
        for slot in required_slots:
            if slot not in SLOTS:
                raise ConfigError('model.required_slots', f"unknown slot '{slot}'",
                                  f'slots: {", ".join(SLOTS)}')
            if slot not in present:
                raise ConfigError(f'model.{slot}', 'this task requires the slot, but the config '
                                  'leaves it empty')

    def _check_vocab(self):
        """The tokenizer's ids fit every slot's embedding (``vocab_size``) and equal the special
        ids a slot declares (``special_token_ids``, e.g. the decoder's bos = ``[CLS]``)."""
        tokenizer = self.tokenizer
        size = getattr(tokenizer, 'vocab_size', None)
        if size is None:
            return
        for slot in SLOTS:
            module = getattr(self, slot)
            rows = getattr(module, 'vocab_size', None)
            if rows is not None and rows < size:
                raise ConfigError(f'model.{slot}', f'{type(module).__name__} embeds {rows} token '
                                  f'ids, but the tokenizer ({tokenizer!r}) has {size}',
                                  f'set its vocab_size to at least {size}')
            for name, want in (getattr(module, 'special_token_ids', None) or {}).items():
                have = getattr(tokenizer, f'{name}_token_id', None)
                if have is not None and have != want:
                    raise ConfigError(f'model.{slot}', f'{type(module).__name__} takes id {want} '
                                      f'for [{name.upper()}], but the tokenizer gives {have}',
                                      'set the ids of the tokenizer: [PAD] -> pad_token_id, '
                                      '[CLS] -> bos_token_id, [SEP] -> eos_token_id')

    @staticmethod
    def _check_head_inputs(name, head, streams, has_decoder):
        """Each stream a head ``requires`` must be produced by a filled slot."""
        for stream in getattr(head, 'requires', ()):
            if stream in streams or (stream == 'decoder' and has_decoder):
                continue
            slot = PRODUCERS.get(stream, stream)
            raise ConfigError(f'model.{slot}', f"head '{name}' ({type(head).__name__}) needs "
                              f'{stream} features, but the config has no `model.{slot}`')

    @staticmethod
    def _check_modality(slot, module):
        want = 'vision' if slot == 'vision_encoder' else 'text' if slot == 'text_encoder' else None
        modality = getattr(module, 'modality', None)
        if want and modality not in (want, 'multimodal'):
            raise ConfigError(f'model.{slot}', f'{type(module).__name__} encodes {modality}, '
                              f'but this slot takes a {want} encoder')

    @staticmethod
    def _connect(slot, module, streams):
        """Check ``module.in_dims`` against the producers so far, then record its outputs."""
        in_dims, out_dims = (getattr(module, 'in_dims', {}), getattr(module, 'out_dims', {})) \
            if hasattr(module, 'mplug_kind') else _external_dims(module)
        for stream, dims in in_dims.items():
            # a decoder's memory may join several streams ('vision+fused'): each has its width
            parts = memory_parts(module) if stream == 'memory' else (stream, )
            for part in parts:
                if dims is None or part not in streams:
                    continue
                producer, have = streams[part]
                if have is not None and have != dims:
                    raise DimensionMismatchError(
                        f'model.{slot}', f'hidden size mismatch: model.{slot} expects {part} '
                        f'features of size {dims}, but model.{producer} produces {have}',
                        'make the sizes equal or add a projection')
        for stream, dims in out_dims.items():
            streams[stream] = (slot, dims)

    def _arrange_needs(self, name, head):
        """What a head ``needs`` of another slot, set up here so that no head mutates a slot:
        ``'fusion_attention'``: the fusion keeps its last cross-attention (``Features.attention``)."""
        for need in getattr(head, 'needs', ()):
            if need != 'fusion_attention':
                raise ConfigError(f'model.heads.{name}', f"{type(head).__name__} needs '{need}', "
                                  'which the composed model cannot provide',
                                  "known needs: 'fusion_attention'")
            if not hasattr(self.fusion, 'keep_attention'):
                raise ConfigError(f'model.heads.{name}', f'{type(head).__name__} needs the '
                                  "fusion's attention, but the fusion cannot keep it (got "
                                  f'{type(self.fusion).__name__}; CrossAttentionFusion can)')
            self.fusion.keep_attention = True

    def _bind(self, name, head):
        """``head.bind(model, name)``; heads written for ``bind(model)`` get ``name`` set first."""
        bind = getattr(head, 'bind', None)
        if bind is None:
            return
        try:
            takes_name = 'name' in inspect.signature(bind).parameters
        except (TypeError, ValueError):
            takes_name = False
        if takes_name:
            bind(self, name=name)
        else:
            object.__setattr__(head, 'name', name)
            bind(self)

    # ------------------------------------------------------------------ data flow
    def extract_feat(self, inputs):
        """Run the slots: ``inputs`` is the data preprocessor's dict -> :class:`FeatureBundle`."""
        vision, text = self.encode('vision', inputs), self.encode('text', inputs)
        encoded = {}
        if self.universal is not None:
            encoded = {k: v for k, v in (('vision', vision), ('text', text)) if v is not None}
        vision, text, fused = self.pair(vision, text)
        maps = self.pyramid(vision) if self.neck is not None and vision is not None else None
        return FeatureBundle(vision=vision, text=text, fused=fused, maps=maps, inputs=inputs,
                             decoder=self.decoder, encoded=encoded)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs).as_tensors()
        if mode not in ('loss', 'predict'):
            raise ValueError(f"forward mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
        losses, results = {}, None if data_samples is None else list(data_samples)
        for names, idx in group_by_task(self.task_heads, data_samples, self.heads):
            samples = data_samples if idx is None else [data_samples[i] for i in idx]
            feats = self.extract_feat(inputs if idx is None else
                                      select(inputs, idx, len(data_samples)))
            for name in names:
                head = self.heads[name]
                if mode == 'predict':
                    samples = head.predict(feats, samples)
                    continue
                for key, value in head.loss(feats, samples).items():
                    losses[f'{name}.{key}'] = value
            if mode == 'predict':
                if idx is None:
                    results = samples
                else:
                    for i, sample in zip(idx, samples):
                        results[i] = sample
        return losses if mode == 'loss' else results

    # ------------------------------------------------------------------ introspection
    def composition(self):
        """``[(slot, type name, kind, parameter count)]`` for the filled slots and heads."""
        filled = [(slot, getattr(self, slot)) for slot in SLOTS if getattr(self, slot) is not None]
        rows = [(slot, type(m).__name__, getattr(m, 'mplug_kind', None) or external_kind(type(m)),
                 count_params(m)) for slot, m in filled]
        rows += [(f'heads.{name}', type(head).__name__, 'head', count_params(head))
                 for name, head in self.heads.items()]
        return rows
