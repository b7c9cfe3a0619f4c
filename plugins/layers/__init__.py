"""Building blocks shared by the plugin families (not a plugin itself)."""
from .attention import Attention, CrossAttentionBlock, FeedForward, SelfAttentionBlock
from .checkpoint import maybe_checkpoint

__all__ = ['Attention', 'CrossAttentionBlock', 'FeedForward', 'SelfAttentionBlock',
           'maybe_checkpoint']
