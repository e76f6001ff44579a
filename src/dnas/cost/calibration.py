"""Calibrating a latency look-up table against whole networks.

A table's sum of isolated block latencies misses what only the whole network pays: the calls of
containers, and above all caches — a block timed alone keeps its weights and activations hot,
inside a network it reloads them. So after the table is built, a few fixed architectures of the
search network are timed as a whole (with the table's clock, batch and device) and the latency
model becomes the least-squares affine map of the table sum,

    latency(arch) ≈ a · Σ_blocks LUT(block) + b          (a > 0),

which keeps the expected latency exact at one-hot α and differentiable (it is affine in the
tree). The architectures are the two extremes found by walking the cost tree (each label moved
to its costliest / cheapest candidate, twice over) and ``n - 2`` uniform draws from a seeded
generator. The fit is stored in the table under the search network's signature, so it too is
measured once.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.arch.derivation import fix
from dnas.cost.latency import LatencyTable, _batched, time_calls
from dnas.cost.tree import Node
from dnas.space.modules import ArchParams
from dnas.space.value import ValueParams


def _extreme(tree: Node, sizes: dict[str, int], start: dict[str, int], sign: float) -> dict:
    index = dict(start)
    for _ in range(2):
        for label, n in sizes.items():
            index[label] = max(range(n), key=lambda j: sign * tree.exact({**index, label: j}))
    return index


def architectures(
    tree: Node, groups: dict[str, ArchParams], n: int, generator: torch.Generator
) -> list[Architecture]:
    """``n`` architectures spread over the cost range: both extremes, then uniform draws."""
    labels = sorted(tree.labels())
    sizes = {k: len(groups[k].names) for k in labels}

    def draw() -> dict[str, int]:
        return {k: int(torch.randint(s, (1,), generator=generator)) for k, s in sizes.items()}

    picks = [_extreme(tree, sizes, draw(), 1.0), _extreme(tree, sizes, draw(), -1.0)]
    picks += [draw() for _ in range(max(n - 2, 0))]
    out = []
    for index in picks[:n]:
        chosen: dict[str, Any] = {}
        for k, g in groups.items():
            j = index.get(k, 0)
            chosen[k] = g.values[j] if isinstance(g, ValueParams) else g.names[j]
        out.append(Architecture(chosen))
    return out


def signature(model: nn.Module, example_input: torch.Tensor, table: LatencyTable) -> str:
    """The key of a calibration: the network's structure, its input and the table's settings."""
    desc = [repr(model), list(example_input.shape[1:]), str(example_input.dtype),
            table.batch_size, str(table.device), table.clock, torch.get_num_threads(),
            torch.__version__]
    return hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:32]


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``y ≈ a x + b``; a ratio through the origin when the slope is not positive."""
    xs = torch.tensor([p[0] for p in points], dtype=torch.float64)
    ys = torch.tensor([p[1] for p in points], dtype=torch.float64)
    if len(points) >= 2 and float(xs.std()) > 0:
        a = float(((xs - xs.mean()) * (ys - ys.mean())).sum() / ((xs - xs.mean()) ** 2).sum())
        b = float(ys.mean() - a * xs.mean())
        if a > 0:
            return a, b
    return float(ys.sum() / xs.sum()), 0.0


def calibrate(
    model: nn.Module,
    example_input: torch.Tensor,
    tree: Node,
    groups: dict[str, ArchParams],
    table: LatencyTable,
    n: int = 6,
    timer: Callable[[nn.Module, torch.Tensor], float] | None = None,
) -> tuple[float, float]:
    """``(a, b)`` of the affine latency model for ``model`` (from the table when known)."""
    key = signature(model, example_input, table)
    known = table.calibrations.get(key)
    if known is not None:
        return float(known["a"]), float(known["b"])
    gen = torch.Generator().manual_seed(0)
    x = _batched(example_input[:1], table.batch_size, table.device)

    def whole(net: nn.Module, inp: torch.Tensor) -> float:
        net = net.to(table.device).eval()
        return time_calls(lambda: net(inp), table.repeats, table.warmup, table.clock,
                          table.device, table.rounds)

    timer = timer or whole
    points = []
    for arch in architectures(tree, groups, n, gen):
        fixed = fix(model, arch)
        index = {k: (groups[k].values.index(arch[k][0]) if isinstance(groups[k], ValueParams)
                     else groups[k].names.index(str(arch[k][0]))) for k in tree.labels()}
        points.append((tree.exact(index), timer(copy.deepcopy(fixed), x)))
    a, b = fit(points)
    table.note_calibration(key, {"a": a, "b": b, "points": points})
    return a, b


__all__ = ["architectures", "calibrate", "fit", "signature"]
