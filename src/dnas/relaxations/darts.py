"""DARTS: continuous relaxation by softmax (Liu et al., 2019, eq. 2).

    ō(x) = Σ_o  exp(α_o) / Σ_o' exp(α_o')  ·  o(x)

Every candidate runs; α receives the exact gradient of the weighted sum.
"""

from __future__ import annotations

from dnas.relaxations.base import Relaxation
from dnas.relaxations.registry import register


@register("darts")
class Softmax(Relaxation):
    """Softmax over candidates (DARTS). No options."""

    fused_weighted_sum = True
