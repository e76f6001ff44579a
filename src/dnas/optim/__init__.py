"""Architecture gradients (first order, second order by finite differences or exactly).

:mod:`~dnas.optim.gradient` (DARTS eqs. 6-8), :mod:`~dnas.optim.unrolled` (the virtual step),
:mod:`~dnas.optim.objective` (the functional L(w, α)).
"""

from dnas.optim.gradient import MODES, architecture_gradient, hypergradient
from dnas.optim.objective import Objective
from dnas.optim.unrolled import virtual_step

__all__ = ["MODES", "Objective", "architecture_gradient", "hypergradient", "virtual_step"]
