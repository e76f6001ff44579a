"""β-DARTS: Beta-Decay regularisation (Ye et al., 2022, CVPR, eqs. 9-10).

The architecture objective gains the mean over edges of the smooth maximum of α,

    L_α = L_val(w, α) + λ(t) · (1/|E|) Σ_e log Σ_k exp(α_e,k)          (eq. 9)

whose gradient is softmax(α_e) itself (eq. 10): every step pulls the activated weights towards
uniform, which keeps their value and variance small and the supernet's landscape flat. λ grows
linearly over the search; the paper's code uses λ(epoch) = 50 · epoch / 100 (0 → ~50 over its 100
NAS-Bench-201 epochs), the preset here.
"""

from __future__ import annotations

from dnas.robust.base import RobustMethod, linear
from dnas.runtime.checks import FLOAT32_MAX, check_float


class BetaDecay(RobustMethod):
    """β-DARTS' regulariser on α, weight rising linearly from ``weight_start`` to ``weight_end``.

    Parameters
    ----------
    weight_start, weight_end : float, default 0.0, 50.0
        λ at the start and at the end of the search.
    """

    name = "beta-darts"

    def __init__(self, weight_start: float = 0.0, weight_end: float = 50.0) -> None:
        check_float("weight_start", weight_start, 0, FLOAT32_MAX)
        check_float("weight_end", weight_end, 0, FLOAT32_MAX)
        self.weight_start = float(weight_start)
        self.weight_end = float(weight_end)

    def install(self, model):
        wrappers = super().install(model)
        for w in wrappers:
            w.regularizer_scale = 1.0 / max(self.labels, 1)  # the mean over edges of eq. 9
            w.regularizer_weight = self.weight_start
        return wrappers

    def set_progress(self, fraction: float) -> None:
        for w in self.wrappers:
            w.regularizer_weight = linear(self.weight_start, self.weight_end, fraction)


__all__ = ["BetaDecay"]
