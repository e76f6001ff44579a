"""Architectures sampled uniformly at random from the DARTS cell space: the random-search baseline
that NAS results should be read against (Li & Talwalkar, 2019; Yang et al., 2020).

For each cell type and each intermediate node ``k`` (states ``2 .. steps+1``)::

    inputs  ~ two distinct states drawn uniformly from {0, ..., k-1}
    op_e    ~ uniform over the candidate operations other than "none", independently per edge

which is exactly the set of cells the DARTS derivation rule can produce (two non-none incoming
edges per node, every intermediate node concatenated into the output).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dnas.arch.architecture import Architecture
from dnas.ops.registry import op_names
from dnas.spaces.darts.structure import CELL_TYPES, PRIMITIVES, from_genotype, positive_int


def random_architecture(
    seed: int | torch.Generator,
    *,
    steps: int = 4,
    primitives: Sequence[str] = PRIMITIVES,
) -> Architecture:
    """A DARTS cell architecture drawn uniformly at random (see the module docstring).

    Parameters
    ----------
    seed : int or torch.Generator
        The draw's randomness: an integer seed (the same seed gives the same architecture), or a
        generator that is advanced.
    steps : int
        Intermediate nodes per cell (4 in DARTS).
    primitives : sequence of str
        Candidate operations; ``"none"`` is never chosen for a read edge.

    Returns
    -------
    Architecture
        Both cell types (normal and reduction), edge labels ``<cell>/edge_<k>_<j>`` (``"none"``
        for the edges a node does not read); ``meta`` holds ``space="darts"``,
        ``sampler="uniform"``, the ``seed`` (when an integer) and the concatenated states.

    Examples
    --------
    >>> arch = random_architecture(0)
    >>> model = eval_network(arch, C=16, layers=8, dim=1, in_channels=1)   # doctest: +SKIP
    """
    if isinstance(seed, torch.Generator):
        generator, seed_value = seed, None
    elif isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        generator, seed_value = torch.Generator().manual_seed(seed), seed
    else:
        raise ValueError(f"seed={seed!r} must be an integer >= 0 or a torch.Generator")
    positive_int("steps", steps)
    if isinstance(primitives, str) or not isinstance(primitives, Sequence):
        raise ValueError(f"primitives={primitives!r} must be a sequence of operation names")
    ops = [p for p in primitives if p != "none"]
    if not ops:
        raise ValueError(
            f"primitives={list(primitives)!r} must hold an operation other than 'none'"
        )
    unknown = [p for p in ops if p not in op_names()]
    if unknown:
        raise ValueError(
            f"primitives holds unknown operation(s) {unknown}; registered operations: {op_names()}"
        )

    genotype: dict[str, list[tuple[str, int]]] = {}
    for cell in CELL_TYPES:
        pairs: list[tuple[str, int]] = []
        for k in range(2, steps + 2):
            inputs = torch.randperm(k, generator=generator)[:2].sort().values.tolist()
            for j in inputs:
                op = ops[int(torch.randint(len(ops), (1,), generator=generator))]
                pairs.append((op, j))
        genotype[cell] = pairs
    meta: dict[str, Any] = {"space": "darts", "sampler": "uniform"}
    if seed_value is not None:
        meta["seed"] = seed_value
    return from_genotype(genotype["normal"], genotype["reduce"], meta=meta)


__all__ = ["random_architecture"]
