"""Fair DARTS: independent sigmoids and the zero-one loss (Chu et al., 2020, eqs. 3 and 5).

    ō(x) = Σ_o σ(α_o) · o(x)                       (no competition between candidates)
    L_01 = -1/N Σ_o (σ(α_o) - 0.5)²                 (pushes every σ towards 0 or 1)
    L_α  = L_val + w_01 · L_01                      (w_01 = 10 in the paper)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from dnas.relaxations.base import Relaxation
from dnas.relaxations.registry import register

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams


@register("fair-darts")
class FairSigmoid(Relaxation):
    """Independent sigmoid gates with the zero-one loss.

    Parameters
    ----------
    zero_one_weight : float, default 10.0
        Weight ``w_01`` of the zero-one loss in the architecture objective.
    """

    fused_weighted_sum = True

    def __init__(self, zero_one_weight: float = 10.0) -> None:
        if zero_one_weight < 0:
            raise ValueError(f"zero_one_weight={zero_one_weight} must be >= 0")
        self.zero_one_weight = float(zero_one_weight)

    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        return torch.sigmoid(alpha)

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(alpha)

    def regularizer(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor | None:
        if self.zero_one_weight == 0:
            return None
        return -self.zero_one_weight * (torch.sigmoid(alpha) - 0.5).pow(2).mean()
