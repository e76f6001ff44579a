"""Architectures of the MBConv space drawn at random, and its largest architecture.

``random_architecture`` draws every label's candidate uniformly and independently (the random
search baseline; for skippable blocks "mbconv" and "skip" are equally likely). Random
architectures within a cost band come from :func:`dnas.cost.sample_in_band`.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

from dnas.arch.architecture import Architecture
from dnas.space.binding import arch_groups
from dnas.space.value import ValueParams
from dnas.spaces.mbconv.network import MBConvNetwork, architecture_meta


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return torch.Generator().manual_seed(int(seed))
    raise ValueError(f"seed={seed!r} must be an integer >= 0 or a torch.Generator")


def random_architecture(network: MBConvNetwork, seed: int | torch.Generator) -> Architecture:
    """Every label's candidate drawn uniformly (``seed``: int or generator)."""
    if not isinstance(network, MBConvNetwork):
        raise TypeError(f"network must be an MBConvNetwork (mbconv.search_network()), got "
                        f"{type(network).__name__}")
    gen = _generator(seed)
    chosen: dict[str, Any] = {}
    for label, g in arch_groups(network).items():
        j = int(torch.randint(len(g.names), (1,), generator=gen))
        chosen[label] = g.values[j] if isinstance(g, ValueParams) else g.names[j]
    meta = {**architecture_meta(network), "sampler": "uniform"}
    if not isinstance(seed, torch.Generator):
        meta["seed"] = int(seed)
    return Architecture(chosen, meta)


def largest_architecture(network: MBConvNetwork) -> Architecture:
    """The widest, deepest architecture: largest value of every choice, no block skipped."""
    chosen: dict[str, Any] = {}
    for label, g in arch_groups(network).items():
        chosen[label] = max(g.values) if isinstance(g, ValueParams) else "mbconv"
    return Architecture(chosen, architecture_meta(network))


__all__ = ["largest_architecture", "random_architecture"]
