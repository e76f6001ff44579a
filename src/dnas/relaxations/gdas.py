"""GDAS: hard straight-through Gumbel-softmax (Dong & Yang, 2019, eqs. 3-5).

    h = one_hot(argmax_o (α_o + g_o)),  g_o ~ Gumbel(0, 1)
    h̃ = softmax((α + g) / τ)
    ō(x) = (h - h̃.detach() + h̃)_k · o_k(x),   k = argmax     (only the sampled op runs)

τ decays linearly from ``tau_max`` to ``tau_min`` over the search (10 → 0.1 in the paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from dnas.relaxations.base import Relaxation, one_hot_straight_through
from dnas.relaxations.gates import outside_graph
from dnas.relaxations.registry import register
from dnas.runtime.checks import check_float

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams, InputChoice, LayerChoice


@register("gdas")
class HardGumbel(Relaxation):
    """Hard Gumbel-softmax with straight-through gradients; one candidate runs per forward.

    Parameters
    ----------
    tau_max, tau_min : float, default 10.0, 0.1
        Temperature at the start and at the end of the search (linear schedule).
    """

    stochastic = True
    samples_paths = True

    def __init__(self, tau_max: float = 10.0, tau_min: float = 0.1) -> None:
        check_float("tau_max", tau_max, 0, low_open=True)
        check_float("tau_min", tau_min, 0, low_open=True)
        if tau_min > tau_max:
            raise ValueError(f"tau_min={tau_min!r} must be <= tau_max={tau_max!r} (the "
                             "temperature decays from tau_max to tau_min)")
        self.tau_max = float(tau_max)
        self.tau_min = float(tau_min)
        self.tau = float(tau_max)

    def set_progress(self, fraction: float) -> None:
        f = min(max(fraction, 0.0), 1.0)
        self.tau = self.tau_max - (self.tau_max - self.tau_min) * f

    def resample(
        self, alpha: torch.Tensor, arch: ArchParams, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, int]:
        u = torch.rand(alpha.shape, generator=generator, device=alpha.device, dtype=alpha.dtype)
        tiny = torch.finfo(alpha.dtype).tiny
        exp_noise = (-torch.log(u.clamp_min(tiny))).clamp_min(tiny)  # Exp(1) draws
        gumbel = -torch.log(exp_noise)
        index = int(torch.argmax(alpha + gumbel))  # the one host sync of the step, per label
        return gumbel, index

    def _sample(self, alpha: torch.Tensor, arch: ArchParams) -> tuple[torch.Tensor, int]:
        if arch.sample is None:
            raise RuntimeError(
                f"label {arch.label!r}: GDAS needs a sample; call dnas.resample(model) before the "
                "forward pass (dnas.search does this every step)"
            )
        return arch.sample

    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        gumbel, index = self._sample(alpha, arch)
        soft = torch.softmax((alpha + gumbel.to(alpha.dtype)) / self.tau, dim=-1)
        return one_hot_straight_through(soft, index)

    # under torch.compile the sampled index must not become a guard (a recompile per index):
    # the dispatch runs outside the graph
    @outside_graph
    def mix(
        self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> torch.Tensor:
        _, k = self._sample(choice.arch.alpha, choice.arch)
        w = choice.arch.weights()
        op = choice.candidates[choice.arch.names[k]]
        return w[k] * op(*args, **kwargs)

    @outside_graph
    def mix_inputs(self, choice: InputChoice, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        _, k = self._sample(choice.arch.alpha, choice.arch)
        return choice.arch.weights()[k] * inputs[k]
