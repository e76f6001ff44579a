"""Refusing a model that cannot fit before allocating it: an estimate from a build on the
``meta`` device (shapes only, no memory), against the memory the device has.

Building a module under ``torch.device("meta")`` runs its constructor with every tensor on the
meta device: the exact parameter count comes at the cost of the construction's Python alone.
Training holds each parameter several times over (the weights, their gradients, the optimiser's
momentum; a second-order search two more copies for its virtual step), so
``parameters × bytes × copies`` is a lower bound of what a run needs, before any activation. When
even that exceeds what the device has, the run is refused with the estimate and what to change
(``-C 100000`` is one line, not minutes of swapping or an allocator's traceback).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn


def available_bytes(device: torch.device) -> int | None:
    """Memory ``device`` can still give (CUDA: free memory; CPU: the kernel's MemAvailable, else
    the physical memory); None when it cannot be told."""
    if device.type == "cuda":
        try:
            free, _ = torch.cuda.mem_get_info(device)
            return int(free)
        except (RuntimeError, AssertionError):
            return None
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def meta_parameter_count(build: Callable[[], nn.Module]) -> int | None:
    """The number of parameters ``build()`` makes, built on the meta device (no memory used);
    None when ``build`` cannot run there (a constructor that reads values, e.g. ``.item()`` of a
    seeded initialisation)."""
    try:
        with torch.device("meta"):
            model = build()
    except (RuntimeError, NotImplementedError):
        return None
    return sum(p.numel() for p in model.parameters())


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n < 2**40 else f"{n / 2**40:,.1f} TiB"


def check_fits(
    build: Callable[[], nn.Module],
    device: torch.device,
    *,
    copies: int,
    what: str,
    advice: str,
    bytes_per_value: int = 4,
) -> int | None:
    """Raise ``ValueError`` when ``copies`` copies of ``build()``'s parameters cannot fit on
    ``device``; returns the parameter count (None, and nothing checked, when the model cannot
    be built on the meta device: the real build then meets the device's own limit).

    Parameters
    ----------
    build : callable
        Builds the model (called once, on the meta device).
    copies : int
        How many values a run keeps per parameter (weights, gradients, momentum, ...).
    what : str
        Names the model in the message (``"the search network (channels=16, layers=8)"``).
    advice : str
        What to change (``"use fewer channels or layers"``).
    """
    n = meta_parameter_count(build)
    if n is None:
        return None
    needed = n * bytes_per_value * copies
    free = available_bytes(device)
    if free is not None and needed > free:
        raise ValueError(
            f"{what} has {n:,} parameters: training it needs at least {_gib(needed)} "
            f"({copies} values of {bytes_per_value} bytes per parameter, before activations), "
            f"and the {device.type} device has {_gib(free)} available; {advice}"
        )
    return n


__all__ = ["available_bytes", "check_fits", "meta_parameter_count"]
