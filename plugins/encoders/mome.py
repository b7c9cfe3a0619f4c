"""``MoMETransformer``: the mixture-of-modality-experts Transformer of VL-BEiT (§2, after VLMo).

One shared backbone encodes images, text and image-text pairs (VL-BEiT §2.1-2.2):

* inputs (§2.1): ``H^v = [v_[I_CLS], v_1..v_N] + V_pos`` (patch embeddings),
  ``H^w = [w_[T_CLS], w_1..w_M, w_[T_SEP]] + T_pos`` (word embeddings; the tokenizer adds the
  special tokens) and, for a pair, ``H^vl = [H^w; H^v]``;
* every block (§2.2) has a self-attention *shared* across modalities and a pool of feed-forward
  experts chosen by hard routing on the modality of each token: V-FFN for image tokens, L-FFN for
  text tokens and, in the top ``num_vl_layers`` blocks only, VL-FFN, which takes *all* tokens of an
  image-text pair (VLMo's split: bottom blocks keep each modality in its own expert, top blocks
  fuse).
  Image-only and text-only inputs use V-FFN / L-FFN in every block, the top ones included.

Blocks are pre-norm with LayerScale (BEiT, which VL-BEiT follows for initialisation)::

    H' = H  + gamma_1 * MSA(LN(H))            # shared
    H  = H' + gamma_2 * FFN_m(LN_m(H'))       # m = V, L or VL by routing
"""
import math

import torch
from torch import nn

from mplug_registry.model.base import BaseEncoder
from mplug_registry.registry import MODELS
from mplug_registry.structures import Features
from mplug_registry_plugins.encoders.vision import resize_pos_embed
from mplug_registry_plugins.layers import Attention, FeedForward, maybe_checkpoint

#: size presets. ``base`` is VL-BEiT's (12 blocks, 768 wide, 12 heads, 224 px, 16 px patches);
#: the paper does not state how many top blocks carry VL-FFN, so ``num_vl_layers`` follows VLMo-Base
#: (VL-FFN from block 10 of 12). ``tiny`` is for tests and CPU runs.
ARCH_ZOO = {
    'tiny': dict(dims=192, layers=4, heads=3, num_vl_layers=1, patch_size=16, image_size=224),
    'base': dict(dims=768, layers=12, heads=12, num_vl_layers=2, patch_size=16, image_size=224),
}


def drop_path(x, rate, training):
    """Stochastic depth: drop the residual branch of whole samples with probability ``rate``."""
    if rate == 0.0 or not training:
        return x
    keep = x.new_empty(x.shape[0], *(1, ) * (x.dim() - 1)).bernoulli_(1.0 - rate)
    return x * keep / (1.0 - rate)


class Expert(nn.Module):
    """One modality expert ``FFN(LN(x))``: the feed-forward sub-layer with its own LayerNorm."""

    def __init__(self, dims, mlp_ratio):
        super().__init__()
        self.norm = nn.LayerNorm(dims, eps=1e-6)
        self.ffn = FeedForward(dims, mlp_ratio)

    def forward(self, x):
        return self.ffn(self.norm(x))


class MoMEBlock(nn.Module):
    """Shared self-attention + a pool of experts ``v_ffn``, ``l_ffn`` (+ ``vl_ffn`` if ``with_vl``).

    ``forward(x, mask, num_text, pair)``: ``x`` is ``[B, N, C]`` with the ``num_text`` text tokens
    first; ``pair`` says that ``x`` is an image-text pair (then ``vl_ffn``, if present, takes all).
    """

    def __init__(self, dims, heads, mlp_ratio=4.0, with_vl=False, layer_scale=0.1,
                 drop_path_rate=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=1e-6)
        self.attn = Attention(dims, heads)
        self.v_ffn = Expert(dims, mlp_ratio)
        self.l_ffn = Expert(dims, mlp_ratio)
        self.vl_ffn = Expert(dims, mlp_ratio) if with_vl else None
        if layer_scale:
            self.gamma_1 = nn.Parameter(torch.full((dims, ), float(layer_scale)))
            self.gamma_2 = nn.Parameter(torch.full((dims, ), float(layer_scale)))
        else:
            self.gamma_1 = self.gamma_2 = None
        self.drop_path_rate = drop_path_rate

    def _residual(self, x, y, gamma):
        y = y if gamma is None else gamma * y
        return x + drop_path(y, self.drop_path_rate, self.training)

    def route(self, x, num_text, pair):
        """Hard routing of the FFN sub-layer by token modality."""
        if pair and self.vl_ffn is not None:
            return self.vl_ffn(x)                                    # [B, M+1+N, C]
        parts = []
        if num_text > 0:
            parts.append(self.l_ffn(x[:, :num_text]))                # [B, M, C]
        if num_text < x.shape[1]:
            parts.append(self.v_ffn(x[:, num_text:]))                # [B, 1+N, C]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(self, x, mask=None, num_text=0, pair=False):
        x = self._residual(x, self.attn(self.norm1(x), mask=mask), self.gamma_1)
        return self._residual(x, self.route(x, num_text, pair), self.gamma_2)


@MODELS.register_module()
class MoMETransformer(BaseEncoder):
    """Mixture-of-modality-experts Transformer (VL-BEiT §2.1-2.2).

    Args:
        arch: preset in :data:`ARCH_ZOO` (``tiny``, ``base``).
        dims, layers, heads, num_vl_layers, patch_size, image_size: override the preset;
            ``num_vl_layers`` top blocks get a VL-FFN expert (0 <= num_vl_layers <= layers).
        mlp_ratio: expert FFN width / ``dims``.
        vocab_size: word-embedding rows. Default: BERT's WordPiece vocabulary, which the project's
            ``BertTokenizer`` produces (VL-BEiT itself uses a 64k SentencePiece vocabulary).
        max_text_len: number of text position embeddings.
        layer_scale: LayerScale init value (BEiT-base: 0.1); ``0``/``None`` disables it.
        drop_path_rate: stochastic depth, linearly increasing over blocks (VL-BEiT §3.1: 0.1).
        with_cp: activation checkpointing per block.

    ``forward(images=None, input_ids=None, attention_mask=None)`` picks the mode from its inputs:

    * image only: ``tokens [B, 1+N, C]`` (``[I_CLS]`` then N patches), ``mask`` None,
      ``pooled`` = final ``[I_CLS]``;
    * text only: ``tokens [B, M, C]``, ``mask`` = ``attention_mask``, ``pooled`` = final
      ``[T_CLS]``;
    * image + text: ``tokens [B, M+1+N, C]`` = [text; image] as ``H^vl = [H^w; H^v]``, ``mask`` =
      the text mask then ones (None without a text mask), ``pooled`` = final ``[T_CLS]``, the
      pair representation VL-BEiT §3.2 classifies for VQA and NLVR2.

    In a :class:`~mplug_registry.model.composed.ComposedModel` put it in the ``vision_encoder``
    slot: the model calls ``vision_encoder(images)`` (image-only mode); the text and pair modes
    take ``input_ids=..., attention_mask=...`` (with or without ``images=...``). It also fits the ``text_encoder`` slot
    (``text_encoder(input_ids=..., attention_mask=...)``), but a second slot is a second copy of the
    weights, not a shared one. ``out_dims`` declares ``vision`` and ``text``.
    """
    modality = 'multimodal'

    def __init__(self, arch='base', dims=None, layers=None, heads=None, num_vl_layers=None,
                 patch_size=None, image_size=None, mlp_ratio=4.0, vocab_size=30522,
                 max_text_len=512, layer_scale=0.1, drop_path_rate=0.1, with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_ZOO:
            raise ValueError(f"unknown arch '{arch}', choose from {sorted(ARCH_ZOO)}")
        spec = dict(ARCH_ZOO[arch])
        for name, value in dict(dims=dims, layers=layers, heads=heads, num_vl_layers=num_vl_layers,
                                patch_size=patch_size, image_size=image_size).items():
            if value is not None:
                spec[name] = value
        if not 0 <= spec['num_vl_layers'] <= spec['layers']:
            raise ValueError(f"num_vl_layers={spec['num_vl_layers']} must be between 0 and "
                             f"layers={spec['layers']}")
        if spec['image_size'] % spec['patch_size']:
            raise ValueError(f"image_size {spec['image_size']} is not a multiple of "
                             f"patch_size {spec['patch_size']}")
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_path_rate}')
        self.arch = spec
        self.patch_size = spec['patch_size']
        self.with_cp = with_cp
        c = self.dims = spec['dims']
        grid = spec['image_size'] // spec['patch_size']
        # image representations H^v (§2.1)
        self.patch_embed = nn.Conv2d(3, c, spec['patch_size'], spec['patch_size'])
        self.image_cls = nn.Parameter(torch.zeros(c))
        self.image_pos = nn.Parameter(torch.zeros(1 + grid * grid, c))
        # text representations H^w (§2.1)
        self.word_embed = nn.Embedding(vocab_size, c)
        self.text_pos = nn.Parameter(torch.zeros(max_text_len, c))
        n, top = spec['layers'], spec['layers'] - spec['num_vl_layers']
        self.blocks = nn.ModuleList(
            MoMEBlock(c, spec['heads'], mlp_ratio, with_vl=i >= top, layer_scale=layer_scale,
                      drop_path_rate=drop_path_rate * i / max(n - 1, 1)) for i in range(n))
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.out_dims = {'vision': c, 'text': c}
        self._init_weights()

    @property
    def vl_start(self):
        """Index of the first block with a VL-FFN expert (``layers`` when there is none)."""
        return self.arch['layers'] - self.arch['num_vl_layers']

    def _init_weights(self):
        """BEiT init: truncated normal (std 0.02), block l residual outputs scaled 1/sqrt(2l)."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if getattr(m, 'bias', None) is not None:
                    nn.init.zeros_(m.bias)
        for p in (self.image_cls, self.image_pos, self.text_pos):
            nn.init.trunc_normal_(p, std=0.02)
        with torch.no_grad():
            for layer, block in enumerate(self.blocks, 1):
                scale = math.sqrt(2.0 * layer)
                block.attn.proj.weight.div_(scale)
                for expert in (block.v_ffn, block.l_ffn, block.vl_ffn):
                    if expert is not None:
                        expert.ffn[3].weight.div_(scale)

    # ------------------------------------------------------------------ input representations
    def embed_image(self, images):  # [B, 3, H, W] -> H^v [B, 1+N, C]
        if images.dim() != 4:
            raise ValueError(f'MoMETransformer encodes images [B, 3, H, W], got shape '
                             f'{tuple(images.shape)}')
        if images.shape[-1] % self.patch_size or images.shape[-2] % self.patch_size:
            raise ValueError(f'image size {tuple(images.shape[-2:])} is not a multiple of the '
                             f'patch size {self.patch_size}')
        x = self.patch_embed(images)                                  # [B, C, h, w]
        gh, gw = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)                              # [B, N, C]
        cls = self.image_cls.to(x.dtype).expand(x.shape[0], 1, -1)    # [B, 1, C]
        pos = resize_pos_embed(self.image_pos, gh, gw).to(x.dtype)    # [1+N, C]
        return torch.cat([cls, x], dim=1) + pos                       # [B, 1+N, C]

    def embed_text(self, input_ids):  # [B, M] -> H^w [B, M, C]
        if input_ids.shape[1] > self.text_pos.shape[0]:
            raise ValueError(f'text of {input_ids.shape[1]} tokens is longer than max_text_len='
                             f'{self.text_pos.shape[0]}')
        return self.word_embed(input_ids) + self.text_pos[:input_ids.shape[1]]

    # ------------------------------------------------------------------ forward
    def forward(self, images=None, input_ids=None, attention_mask=None):
        if images is None and input_ids is None:
            raise ValueError('MoMETransformer needs images, input_ids or both')
        parts, mask = [], attention_mask
        num_text = 0
        if input_ids is not None:
            parts.append(self.embed_text(input_ids))                  # [B, M, C]
            num_text = input_ids.shape[1]
        if images is not None:
            parts.append(self.embed_image(images))                    # [B, 1+N, C]
        pair = len(parts) == 2
        if pair:
            if parts[0].shape[0] != parts[1].shape[0]:
                raise ValueError(f'{parts[1].shape[0]} images but {parts[0].shape[0]} texts')
            if mask is not None:
                ones = mask.new_ones(mask.shape[0], parts[1].shape[1])
                mask = torch.cat([mask, ones], dim=1)                 # [B, M+1+N]
        x = torch.cat(parts, dim=1) if pair else parts[0]             # [B, (M)+(1+N), C]
        for block in self.blocks:
            x = maybe_checkpoint(lambda t, b=block: b(t, mask, num_text, pair), x,
                                 with_cp=self.with_cp)
        x = self.norm(x)
        return Features(tokens=x, mask=mask, pooled=x[:, 0])
