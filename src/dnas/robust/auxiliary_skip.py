"""DARTS-: an auxiliary skip connection with a decaying weight (Chu et al., 2021, ICLR, eq. 3).

Every edge gets an extra identity path outside the competition of the candidates,

    ō(x) = β(t) · x + Σ_k softmax(α)_k · o_k(x),        β(t) = β₀ · (1 - t/T)        (eq. 3)

so the skip candidate no longer has to win to let gradients through (the unfair advantage behind
collapse), and β decays to 0 by the end of the search, leaving the supernet that α describes.
The paper's preset: β₀ = 1, linear decay.
"""

from __future__ import annotations

from dnas.robust.base import RobustMethod, linear
from dnas.runtime.checks import FLOAT32_MAX, check_float


class AuxiliarySkip(RobustMethod):
    """DARTS-: β · x added to every LayerChoice whose output has its input's shape.

    Parameters
    ----------
    beta_start, beta_end : float, default 1.0, 0.0
        β at the start and at the end of the search (linear in between).
    """

    name = "darts-minus"

    def __init__(self, beta_start: float = 1.0, beta_end: float = 0.0) -> None:
        check_float("beta_start", beta_start, 0, FLOAT32_MAX)
        check_float("beta_end", beta_end, 0, FLOAT32_MAX)
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)

    def install(self, model):
        wrappers = super().install(model)
        for w in wrappers:
            w.skip_weight = self.beta_start
        return wrappers

    def set_progress(self, fraction: float) -> None:
        for w in self.wrappers:
            w.skip_weight = linear(self.beta_start, self.beta_end, fraction)


__all__ = ["AuxiliarySkip"]
