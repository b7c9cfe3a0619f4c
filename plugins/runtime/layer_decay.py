"""Layer-wise learning-rate decay for fine-tuning the vision encoder, as BEiT and EVA fine-tune
ViTs on ImageNet.

mmseg's ``LearningRateDecayOptimizerConstructor`` does the work: one parameter group per (layer,
weight decay or not), ``lr = base_lr * decay_rate ** (num_layers + 1 - layer_id)``, no weight decay
for 1-d parameters and biases. Its layer numbering reads BEiT's parameter names; this subclass
shows it our model under those names (and maps them back in the groups):

* ``vision_encoder.{conv1, class_embedding, positional_embedding, ln_pre}``: layer 0 (the
  embedding tables take no weight decay, as BEiT's ``no_weight_decay()``),
* ``vision_encoder.transformer.resblocks.{i}``: layer i + 1,
* everything else (``ln_post``, ``proj``, universal layers, heads): layer num_layers + 1 (scale 1).

mmseg is imported on first build (plugin discovery does not import it). Config::

    optim_wrapper = dict(constructor='VisionLayerDecayOptimizerConstructor',
                         paramwise_cfg=dict(decay_rate=0.75))   # num_layers: the encoder's depth
"""
import contextlib
import functools
import io
import re

from mmengine.logging import MMLogger

from mplug_registry.errors import ConfigError
from mplug_registry.registry import OPTIM_WRAPPER_CONSTRUCTORS

#: the encoder's parameters before its first block (layer 0)
EMBEDDINGS = ('conv1', 'class_embedding', 'positional_embedding', 'ln_pre')
#: the embedding tables, which take no weight decay
TABLES = ('class_embedding', 'positional_embedding')
_ENCODER = re.compile(r'^(?:module\.)?vision_encoder\.(.*)$')   # DDP adds ``module.``
_BLOCK = re.compile(r'^transformer\.resblocks\.(\d+)\.(.*)$')
_KEY = 'optim_wrapper.paramwise_cfg'


def beit_name(name):
    """Our parameter ``name`` in the BEiT scheme of mmseg's ``get_layer_id_for_vit``:
    ``backbone.patch_embed.*`` is layer 0, ``backbone.layers.{i}.*`` layer i + 1, the rest last."""
    match = _ENCODER.match(name)
    inner = match[1] if match else ''
    block = _BLOCK.match(inner)
    if block:
        return f'backbone.layers.{block[1]}.{block[2]}'
    if match and inner.split('.')[0] in EMBEDDINGS:
        # the parent takes no weight decay for biases: the tables get that name ending
        return f'backbone.patch_embed.{inner}' + ('.bias' if inner in TABLES else '')
    return f'rest.{name}'


def num_blocks(module):
    """The depth of the vision encoder: the number of ``transformer.resblocks``."""
    ids = {int(m[1]) for name, _ in module.named_parameters()
           if (m := re.match(r'backbone\.layers\.(\d+)\.', beit_name(name)))}
    return max(ids) + 1 if ids else 0


class _AsBEiT:
    """``model`` as mmseg's constructor reads a BEiT: a ``backbone`` and renamed parameters."""

    class BEiT:   # the parent picks its ViT numbering by this class name
        pass

    def __init__(self, model):
        self.model, self.backbone, self.names = model, self.BEiT(), {}

    def named_parameters(self):
        for name, param in self.model.named_parameters():
            self.names[beit_name(name)] = name
            yield beit_name(name), param


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
def VisionLayerDecayOptimizerConstructor(optim_wrapper_cfg, paramwise_cfg=None):
    """mmseg's layer-wise lr decay on our parameter names (module docstring).

    ``paramwise_cfg``: ``decay_rate`` in (0, 1] (required); ``num_layers`` (default: the vision
    encoder's number of blocks).
    """
    cfg = dict(paramwise_cfg or {})
    rate, layers = cfg.get('decay_rate'), cfg.get('num_layers')
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
        raise ConfigError(f'{_KEY}.decay_rate', f'must be a number in (0, 1], got {rate!r}')
    if layers is not None and (isinstance(layers, bool) or not isinstance(layers, int)
                               or layers < 0):
        raise ConfigError(f'{_KEY}.num_layers', f'must be an integer >= 0, got {layers!r}')
    if cfg.setdefault('decay_type', 'layer_wise') != 'layer_wise':
        raise ConfigError(f'{_KEY}.decay_type', f"only 'layer_wise' applies to a ViT, got "
                          f"{cfg['decay_type']!r}")
    return _constructor_class()(optim_wrapper_cfg, cfg)


@functools.lru_cache(maxsize=None)
def _constructor_class():
    try:
        from mmseg.engine.optimizers import LearningRateDecayOptimizerConstructor
    except ImportError:
        raise ConfigError('optim_wrapper.constructor', 'VisionLayerDecayOptimizerConstructor '
                          "needs mmsegmentation: pip install 'mplug-registry[openmmlab]'") from None

    class Constructor(LearningRateDecayOptimizerConstructor):
        def add_params(self, params, module, **kwargs):
            if self.paramwise_cfg.get('num_layers') is None:
                self.paramwise_cfg['num_layers'] = num_blocks(module)
            view, start = _AsBEiT(module), len(params)
            with contextlib.redirect_stdout(io.StringIO()):   # the parent prints every parameter
                super().add_params(params, view)
            for group in params[start:]:
                group['param_names'] = [view.names[n] for n in group['param_names']]
            scales = sorted({round(g['lr_scale'], 4) for g in params[start:]})
            MMLogger.get_current_instance().info(
                f"layer-wise lr decay {self.paramwise_cfg['decay_rate']} over "
                f"{self.paramwise_cfg['num_layers']} blocks: {len(params) - start} groups, "
                f'lr scales {scales}')

    Constructor.__name__ = Constructor.__qualname__ = 'VisionLayerDecayOptimizerConstructor'
    return Constructor
