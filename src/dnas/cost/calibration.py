"""Calibrating a latency look-up table against whole networks.

A table's sum of isolated block latencies misses what only the whole network pays: the calls of
containers, and caches — a block timed alone keeps its weights and activations hot, inside a
network it reloads them (on this project's 2-core CPU the whole network takes ~1.1× the sum of
its fastest blocks). So after the table is built, a few fixed architectures of the search network
are timed as a whole (with the table's clock, batch, device and statistic, in interleaved passes:
:meth:`~dnas.cost.LatencyTable.time_networks`) and the latency model becomes the least-squares
affine map of the table sum,

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
from dnas.cost.latency import LatencyTable, _batched
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


def _position(group: ArchParams, chosen: Any) -> int:
    if isinstance(group, ValueParams):
        return group.values.index(chosen)
    return group.names.index(str(chosen))


def signature(model: nn.Module, example_input: torch.Tensor, table: LatencyTable) -> str:
    """The key of a calibration: the network's structure, its input and the table's settings."""
    desc = [repr(model), list(example_input.shape[1:]), str(example_input.dtype),
            table.batch_size, str(table.device), table.clock, torch.get_num_threads(),
            torch.__version__]
    if table.statistic != "median":  # signatures of tables written before the statistic
        desc.append(table.statistic)
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
    n: int = 8,
    timer: Callable[[nn.Module, torch.Tensor], float] | None = None,
    passes: int = 5,
) -> tuple[float, float]:
    """``(a, b)`` of the affine latency model for ``model`` (from the table when known).

    The ``n`` networks are timed by ``table.time_networks`` in ``passes`` interleaved passes,
    or one by one by ``timer(network, batch)`` when given."""
    key = signature(model, example_input, table)
    known = table.calibrations.get(key)
    if known is not None:
        return float(known["a"]), float(known["b"])
    gen = torch.Generator().manual_seed(0)
    sums, nets = [], []
    for arch in architectures(tree, groups, n, gen):
        nets.append(fix(model, arch))
        sums.append(tree.exact({k: _position(groups[k], arch[k][0]) for k in tree.labels()}))
    if timer is None:
        times = table.time_networks(nets, example_input, passes)
    else:
        x = _batched(example_input[:1], table.batch_size, table.device)
        times = [timer(copy.deepcopy(net), x) for net in nets]
    points = list(zip(sums, times))
    a, b = fit(points)
    table.note_calibration(key, {"a": a, "b": b, "points": points})
    return a, b


__all__ = ["architectures", "calibrate", "fit", "signature"]
