"""DrNAS: Dirichlet architecture distributions (Chen et al., 2021, section 3).

    β = elu(α) + 1                    (positive concentration)
    θ ~ Dir(β),  ō(x) = Σ_o θ_o o(x)  (pathwise/implicit reparameterised gradient ∂θ/∂β)
    L_α = L_val + λ · KL(Dir(β) ‖ Dir(1))   (the paper's regulariser; λ = 1e-3)

θ is drawn once per label per step in :meth:`Dirichlet.resample` and reused by every choice with
the label; its gradient with respect to β is the implicit reparameterisation gradient evaluated at
that θ, so the search's virtual and ± passes see one consistent sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch.autograd import Function
from torch.distributions import Dirichlet as _Dir
from torch.distributions import kl_divergence

from dnas.relaxations.base import Relaxation
from dnas.relaxations.registry import register

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams


class _FixedSample(Function):
    """Return the drawn sample θ; backward: implicit gradient ∂θ/∂β at θ (Figurnov et al. 2018).

    The Jacobian is computed from a detached β: the second derivative of θ is never needed (the
    exact hypergradient only uses ∂²L/∂w∂θ · ∂θ/∂β), and torch has no derivative for it.
    """

    @staticmethod
    def forward(ctx: Any, concentration: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(theta, concentration)
        return theta.clone()

    @staticmethod
    def backward(ctx: Any, grad_theta: torch.Tensor) -> tuple[torch.Tensor, None]:
        theta, conc = ctx.saved_tensors
        c = conc.detach()
        jac = torch._dirichlet_grad(theta, c, c.sum(-1, keepdim=True).expand_as(c))
        grad = jac * (grad_theta - (theta * grad_theta).sum(-1, keepdim=True))
        return grad, None


@register("drnas")
class Dirichlet(Relaxation):
    """Dirichlet samples with concentration ``elu(α) + 1``.

    Parameters
    ----------
    reg_weight : float, default 1e-3
        Weight λ of the KL regulariser towards the uniform Dirichlet ``Dir(1)``.
    """

    stochastic = True
    fused_weighted_sum = True

    def __init__(self, reg_weight: float = 1e-3) -> None:
        if reg_weight < 0:
            raise ValueError(f"reg_weight={reg_weight} must be >= 0")
        self.reg_weight = float(reg_weight)

    @staticmethod
    def concentration(alpha: torch.Tensor) -> torch.Tensor:
        return F.elu(alpha) + 1.0

    def resample(
        self, alpha: torch.Tensor, arch: ArchParams, generator: torch.Generator | None
    ) -> torch.Tensor:
        conc = self.concentration(alpha)
        # Dir(β) = normalised Gamma(β, 1) draws; drawn with our generator for repeatability
        gammas = torch._standard_gamma(conc, generator=generator)
        theta = gammas / gammas.sum(-1, keepdim=True)
        return theta.clamp_min(torch.finfo(theta.dtype).tiny)

    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        conc = self.concentration(alpha)
        if arch.sample is None:  # no step has sampled yet (e.g. a forward outside search): mean
            return conc / conc.sum(-1, keepdim=True)
        return _FixedSample.apply(conc, arch.sample.to(conc.dtype))

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:
        conc = self.concentration(alpha)
        return conc / conc.sum(-1, keepdim=True)

    def regularizer(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor | None:
        if self.reg_weight == 0:
            return None
        conc = self.concentration(alpha)
        return self.reg_weight * kl_divergence(_Dir(conc), _Dir(torch.ones_like(conc)))
