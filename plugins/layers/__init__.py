"""Building blocks shared by the plugin families (not a plugin itself)."""
from .attention import Attention, CrossAttentionBlock, FeedForward, SelfAttentionBlock
from .checkpoint import maybe_checkpoint
from .position import grid_sincos

__all__ = ['Attention', 'CrossAttentionBlock', 'FeedForward', 'SelfAttentionBlock',
           'grid_sincos', 'maybe_checkpoint']
