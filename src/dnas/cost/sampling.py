"""Random architectures whose cost lies in a band: the random baseline of a budgeted search.

Uniform sampling over a space rarely lands near a budget (almost never near the largest model),
so architectures are drawn from the uniform distribution *restricted to the band* by a random
walk (Metropolis with a symmetric proposal and a flat target, so the band's architectures are
equally likely once the walk has mixed):

1. start from a uniformly drawn architecture; while outside the band, move one label to a random
   candidate among those that bring the cost closer to the band; where no single move does (a
   local optimum: a wide stage that is only one block deep), start again from a new draw;
2. then ``steps`` times: pick a label uniformly and another of its candidates uniformly, and
   move there if the cost stays in the band.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from dnas.arch.architecture import Architecture
from dnas.cost.model import CostModel
from dnas.runtime.checks import ParameterError, check_float, check_int
from dnas.space.value import ValueParams


def _distance(c: float, low: float, high: float) -> float:
    if c > high:
        return math.log(c / high)
    if c < low:
        return math.log(low / max(c, 1e-300))
    return 0.0


def sample_in_band(
    cost_model: CostModel,
    low: float,
    high: float,
    generator: torch.Generator | None,
    *,
    steps: int = 200,
    restarts: int = 50,
) -> Architecture:
    """An architecture of ``cost_model``'s model with ``low <= cost <= high`` (see the module).

    ``low`` is a finite number >= 0, ``high`` a number >= ``low`` (``inf``: no upper bound);
    ``generator`` a CPU ``torch.Generator`` (None: the global RNG); ``steps`` and ``restarts``
    integers >= 0.

    Raises ``ValueError`` when no walk reaches the band: it is unreachable by single-label moves
    from ``restarts + 1`` uniformly drawn starts; a bad argument raises ``ValueError`` or
    ``TypeError`` naming it.
    """
    if not isinstance(cost_model, CostModel):
        raise TypeError(f"cost_model must be a dnas.cost.CostModel, got "
                        f"{type(cost_model).__name__}")
    check_float("low", low, 0)
    check_float("high", high, 0, finite=False)
    if low > high:
        raise ValueError(f"low={low!r} must be <= high={high!r}: the band [low, high] is empty")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ParameterError(f"generator={generator!r} must be a torch.Generator (e.g. "
                             "torch.Generator().manual_seed(0)) or None")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"generator={generator!r} must be a CPU torch.Generator, got one on "
                         f"{generator.device}")
    check_int("steps", steps, 0)
    check_int("restarts", restarts, 0)
    # NumPy numbers: plain Python numbers in the meta data
    low, high = (v.item() if isinstance(v, np.generic) else v for v in (low, high))
    groups = cost_model.groups
    labels = list(groups)

    def draw(n: int) -> int:
        return int(torch.randint(n, (1,), generator=generator))

    def cost(ix: dict[str, int]) -> float:
        return cost_model.tree.exact(ix)

    closest = math.inf
    for _ in range(restarts + 1):
        index = {k: draw(len(groups[k].names)) for k in labels}
        c = cost(index)
        for _ in range(100 * len(labels)):
            d = _distance(c, low, high)
            if d == 0:
                break
            better = [(k, j, cj) for k in labels for j in range(len(groups[k].names))
                      if j != index[k]
                      for cj in [cost({**index, k: j})] if _distance(cj, low, high) < d]
            if not better:  # a local optimum of the distance: start again elsewhere
                break
            k, j, c = better[draw(len(better))]
            index[k] = j
        if _distance(c, low, high) == 0:
            break
        if _distance(c, low, high) < _distance(closest, low, high):
            closest = c
    else:
        raise ValueError(f"no architecture found with cost in [{low:g}, {high:g}] after "
                         f"{restarts + 1} walks (closest: {closest:g})")
    for _ in range(steps):
        k = labels[draw(len(labels))]
        n = len(groups[k].names)
        if n < 2:
            continue
        j = (index[k] + 1 + draw(n - 1)) % n
        cj = cost({**index, k: j})
        if low <= cj <= high:
            index[k], c = j, cj
    chosen: dict[str, Any] = {}
    for k, j in index.items():
        g = groups[k]
        chosen[k] = g.values[j] if isinstance(g, ValueParams) else g.names[j]
    return Architecture(chosen, {"sampler": "uniform-in-band", "band": [low, high],
                                 "cost": {"kind": cost_model.kind, "value": c}})


__all__ = ["sample_in_band"]
