"""Randomness of a run: seeded generators, and the global RNG forked, seeded and restored.

A loop draws from its own :class:`torch.Generator` objects (data order, sampling, augmentation),
whose states checkpoints save. Code that draws from the global RNG (a model's dropout) gets it
seeded inside :func:`global_rng`, which restores the caller's RNG afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch


def generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded with ``seed`` (``None``: a fresh non-deterministic seed)."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


def _devices(device: torch.device) -> list[int]:
    return [device.index or 0] if device.type == "cuda" else []


def global_rng_state(device: torch.device) -> dict[str, Any]:
    """The global RNG states a checkpoint saves: ``global_rng`` and (on CUDA) ``cuda_rng``."""
    return {
        "global_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
    }


@contextlib.contextmanager
def global_rng(
    device: torch.device, seed: int | None = None, state: Mapping[str, Any] | None = None
) -> Iterator[None]:
    """Within the block the global RNG is seeded with ``seed`` (when given), then set to ``state``
    (a :func:`global_rng_state` from a checkpoint, when given); with a seed, the caller's RNG is
    restored afterwards (CPU and ``device``)."""
    with contextlib.ExitStack() as stack:
        if seed is not None:
            stack.enter_context(torch.random.fork_rng(devices=_devices(device)))
            torch.manual_seed(seed)
        if state is not None:
            torch.set_rng_state(state["global_rng"])
            if state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state_all(state["cuda_rng"])
        yield


__all__ = ["generator", "global_rng", "global_rng_state"]
