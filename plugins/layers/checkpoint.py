"""Activation checkpointing per layer (``with_cp=True`` on every encoder, universal, fusion, decoder)."""
import torch
from torch.utils.checkpoint import checkpoint


def maybe_checkpoint(fn, *args, with_cp=False):
    """Run ``fn(*args)``, recomputing its activations in backward when ``with_cp`` and grads are on."""
    if with_cp and torch.is_grad_enabled() and any(
            isinstance(a, torch.Tensor) and a.requires_grad for a in args):
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)
