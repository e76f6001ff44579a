"""Initial weights that depend only on a module's own layers and a seed.

``seeded_reset(module, seed)`` calls ``reset_parameters()`` on every submodule that has one, each
under a generator seeded by ``(seed, the submodule's qualified name)``. A layer's initial weights
then depend neither on how many other layers were built before it nor on the global random state:
two architectures that share a layer (same name, same shape) start it equal, and a fixed model does
not depend on the candidates that were not chosen.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn


def layer_seed(seed: int, name: str) -> int:
    """A 63-bit seed derived from ``seed`` and a layer's qualified name."""
    digest = hashlib.blake2b(f"{int(seed)}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def seeded_reset(module: nn.Module, seed: int) -> nn.Module:
    """Re-initialise ``module`` in place, layer by layer, from ``seed``; returns ``module``.

    Parameters
    ----------
    module : nn.Module
        Its submodules with a ``reset_parameters`` method (convolutions, linear layers,
        BatchNorm: running statistics too) are reset; others are left as they are.
    seed : int
        Any integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed={seed!r} must be an integer")
    cuda = sorted({t.device.index or 0 for t in module.parameters() if t.device.type == "cuda"})
    for name, sub in module.named_modules():
        reset = getattr(sub, "reset_parameters", None)
        if not callable(reset):
            continue
        # fork: reset_parameters draws from the global generator; the caller's stream is kept
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(layer_seed(seed, name))
            with torch.no_grad():
                reset()
    return module


__all__ = ["layer_seed", "seeded_reset"]
