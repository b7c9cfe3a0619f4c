"""The data flow of a composed model, as the small public API that heads and loops call.

mPLUG-2 Fig. 2: encoders -> universal layers -> (neck | fusion) -> heads, the decoder read by the
generative heads. Which slot produces which stream is written here once (:data:`PRODUCERS`);
heads and loops never name a slot: they ask :class:`DataFlow` to encode a modality, to pair
vision with text anew, for the momentum copy of the unimodal path or for the decoder's memory.
"""
import copy

import torch
from torch import nn

from ..errors import ConfigError
from ..structures import Features
from .base import memory_parts

#: slot -> the kind it takes, in the order the data flows through them
SLOTS = {
    'vision_encoder': 'encoder',
    'text_encoder': 'encoder',
    'universal': 'universal',
    'neck': 'neck',
    'fusion': 'fusion',
    'decoder': 'decoder',
}
#: stream -> the slot that first produces it (universal layers re-produce vision and text)
PRODUCERS = {'vision': 'vision_encoder', 'text': 'text_encoder', 'maps': 'neck',
             'fused': 'fusion', 'decoder': 'decoder'}
#: the slots of the unimodal path (what ITC's momentum model copies)
UNIMODAL_SLOTS = ('vision_encoder', 'text_encoder', 'universal')
#: input node of the graph for each encoder
INPUTS = {'vision_encoder': 'images', 'text_encoder': 'text'}


def frozen_copy(module):
    """A deep copy of ``module`` that the optimizer never updates (``requires_grad`` False)."""
    return copy.deepcopy(module).requires_grad_(False)


def select_rows(feats, index):
    """The rows ``index`` (``[R]``) of :class:`Features`."""
    pick = (lambda t: None if t is None else t[index])  # noqa: E731
    return Features(tokens=feats.tokens[index], mask=pick(feats.mask), pooled=pick(feats.pooled),
                    grid=feats.grid)


def cat_rows(*feats):
    """Concatenate :class:`Features` along the batch; a missing mask means all tokens kept."""
    masks = None
    if any(f.mask is not None for f in feats):
        masks = torch.cat([f.mask if f.mask is not None else
                           f.tokens.new_ones(f.tokens.shape[:2], dtype=torch.long) for f in feats])
    pooled = None if any(f.pooled is None for f in feats) else torch.cat([f.pooled for f in feats])
    return Features(tokens=torch.cat([f.tokens for f in feats]), mask=masks, pooled=pooled,
                    grid=feats[0].grid)


def cat_tokens(parts):
    """Join :class:`Features` along the tokens (a decoder memory of several streams)."""
    if len(parts) == 1:
        return parts[0]
    masks = None
    if any(p.mask is not None for p in parts):
        masks = torch.cat([(p.mask if p.mask is not None else
                            p.tokens.new_ones(p.tokens.shape[:2])).long() for p in parts], dim=1)
    return Features(tokens=torch.cat([p.tokens for p in parts], dim=1), mask=masks)


def token_maps(vision):
    """Patch tokens of one image per sample as a map ``[B, C, h, w]`` (the first token dropped)."""
    if vision.grid is None or vision.grid[0] != 1:
        raise ValueError('a neck needs the patch grid of single images (Features.grid = (1, h, w));'
                         f' got {vision.grid!r}')
    _, h, w = vision.grid
    tokens = vision.tokens[:, -h * w:]                                       # [B, h*w, C]
    return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, h, w)


class MomentumPath(nn.ModuleDict):
    """Frozen copies of a composed model's unimodal path, keyed by slot (ALBEF's momentum model).

    ``forward(inputs) -> (vision, text)`` runs the copies as the online model runs its slots, each
    modality alone through the universal layers (``Features.unimodal``). A head may add its own
    frozen modules to the dict; :meth:`parameter_pairs` pairs the slots' copies with the online
    slots. The online model is referenced, not owned, so its parameters are not saved twice.
    """

    def __init__(self, model):
        super().__init__({slot: frozen_copy(getattr(model, slot)) for slot in UNIMODAL_SLOTS
                          if getattr(model, slot) is not None})
        object.__setattr__(self, '_online', model)

    def parameter_pairs(self):
        """``(online parameters, momentum parameters)`` of the copied slots, in matching order."""
        online, shadow = [], []
        for slot in UNIMODAL_SLOTS:
            if slot in self:
                online += list(getattr(self._online, slot).parameters())
                shadow += list(self[slot].parameters())
        return online, shadow

    @torch.no_grad()
    def forward(self, inputs):
        vision = self['vision_encoder'](inputs['images'])
        text = self['text_encoder'](**inputs['text'])
        if 'universal' in self:
            vision, text = self['universal'](vision, text)
            vision, text = vision.unimodal or vision, text.unimodal or text
        return vision, text


class DataFlow:
    """The part of :class:`~.composed.ComposedModel` that heads and loops call (see module doc)."""

    def has_stream(self, stream):
        """Whether a filled slot produces ``stream`` (``vision``, ``text``, ``maps``, ``fused``,
        ``decoder``)."""
        return getattr(self, PRODUCERS[stream], None) is not None

    def stream_dims(self):
        """``{stream: hidden size}`` of what the heads receive (after the universal layers)."""
        return dict(self._stream_sizes)

    # ------------------------------------------------------------------ running the slots
    def encode(self, stream, inputs):
        """Encoder :class:`Features` of ``'vision'`` (``inputs['images']``, an image or video
        batch) or ``'text'`` (``inputs['text']``: ids and mask); ``None`` without the input or
        the encoder."""
        if stream == 'vision':
            images = inputs.get('images')
            return None if images is None or self.vision_encoder is None else \
                self.vision_encoder(images)
        text = inputs.get('text')
        return None if text is None or self.text_encoder is None else self.text_encoder(**text)

    def pair(self, vision, text, fuse=True):
        """Universal layers (when filled), then the fusion if ``fuse`` and both are given.

        ``vision`` / ``text``: encoder :class:`Features` (either may be ``None``). Returns
        ``(vision, text, fused)``; ``fused`` is ``None`` when not fused.
        """
        if self.universal is not None:
            vision, text = self.universal(vision, text)
        fused = self.fusion(vision, text) \
            if fuse and self.fusion is not None and vision is not None and text is not None \
            else None
        return vision, text, fused

    def pyramid(self, vision):
        """The neck's multi-scale maps (a tuple of ``[B, C_i, H_i, W_i]``) of vision features."""
        if getattr(self.neck, 'mplug_kind', None) == 'neck':
            return tuple(self.neck(vision))
        return tuple(self.neck((token_maps(vision), )))     # another scope's neck reads maps

    def encoder_features(self, feats, stream):
        """``stream`` features of this batch as the encoder made them (before the universal
        layers): what a head pairing the modalities anew (ITM negatives, MLM) starts from.

        Without universal layers these are ``feats.<stream>``; with them the bundle keeps them
        in ``feats.encoded``, and a bundle made elsewhere has the encoder run again, once.
        """
        if self.universal is None:
            return getattr(feats, stream)
        if stream not in feats.encoded:
            feats.encoded[stream] = self.encode(stream, feats.inputs)
        return feats.encoded[stream]

    def unimodal(self, stream, inputs):
        """``(encoder features, features of this modality alone after the universal layers)``:
        what retrieval encodes once per image and per text before pairing them."""
        enc = self.encode(stream, inputs)
        if self.universal is None:
            return enc, enc
        vision, text = self.universal(enc, None) if stream == 'vision' else \
            self.universal(None, enc)
        return enc, vision if stream == 'vision' else text

    def momentum_copy(self):
        """A :class:`MomentumPath`: frozen copies of the encoders and universal layers."""
        return MomentumPath(self)

    # ------------------------------------------------------------------ text and decoding
    @property
    def tokenizer(self):
        return getattr(self.data_preprocessor, 'tokenizer', None)

    def text_embeddings(self):
        """The text encoder's word-embedding module (``get_input_embeddings``), or ``None``."""
        for owner in (self.text_encoder, getattr(self.text_encoder, 'bert', None)):
            getter = getattr(owner, 'get_input_embeddings', None)
            if callable(getter):
                return getter()
        return None

    def memory_streams(self, head=None):
        """The streams the decoder's memory joins, each produced by a filled slot.

        ``head`` (the head asking) is named in the one-line :class:`ConfigError` raised otherwise.
        """
        who = 'the decoder' if head is None else f"head '{head.name}' ({type(head).__name__})"
        if self.decoder is None:
            raise ConfigError('model.decoder', f'{who} decodes text, but the config has no '
                              '`model.decoder`')
        parts = memory_parts(self.decoder)
        for part in parts:
            slot = PRODUCERS.get(part)
            if slot is not None and getattr(self, slot) is None:
                raise ConfigError(f'model.{slot}', f"{who} decodes from {part} features (the "
                                  f"decoder's memory_stream), but the config has no "
                                  f'`model.{slot}`')
        return parts

    def decoder_memory(self, feats, head_name='a decoding head'):
        """``(decoder, memory Features)`` of a batch: the decoder's memory streams of ``feats``
        joined along the tokens, with their masks."""
        decoder = feats.decoder if feats.decoder is not None else self.decoder
        parts = [feats.require(p, head_name) for p in memory_parts(decoder)]
        return decoder, cat_tokens(parts)

    # ------------------------------------------------------------------ heads and graph
    def find_head(self, predicate):
        """``(name, head)`` of the first head for which ``predicate(head)`` holds, or ``None``."""
        return next(((n, h) for n, h in self.heads.items() if predicate(h)), None)

    def data_flow(self):
        """Edges ``[(source, target, stream)]`` between the input nodes (``images``, ``text``),
        the filled slots and ``heads.<name>``, as :meth:`extract_feat` runs them."""
        edges, last = [], {}
        for slot, node in INPUTS.items():
            if getattr(self, slot) is not None:
                edges.append((node, slot, ''))
                last['vision' if slot == 'vision_encoder' else 'text'] = slot
        if self.universal is not None:
            edges += [(last[s], 'universal', s) for s in ('vision', 'text') if s in last]
            last.update({s: 'universal' for s in ('vision', 'text') if s in last})
        if self.neck is not None and 'vision' in last:
            edges.append((last['vision'], 'neck', 'vision'))
            last['maps'] = 'neck'
        if self.fusion is not None:
            edges += [(last[s], 'fusion', s) for s in ('vision', 'text') if s in last]
            last['fused'] = 'fusion'
        if self.decoder is not None:
            edges += [(last[s], 'decoder', s) for s in memory_parts(self.decoder) if s in last]
            last['decoder'] = 'decoder'
        for name, head in self.heads.items():
            edges += [(last[s], f'heads.{name}', s) for s in getattr(head, 'requires', ())
                      if s in last]
        return edges
