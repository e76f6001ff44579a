"""Architecture gradients (first order, second order by finite differences or exactly)."""

from dnas.optim.gradient import MODES, architecture_gradient, hypergradient, virtual_step

__all__ = ["MODES", "architecture_gradient", "hypergradient", "virtual_step"]
