"""Binary gates with moving-average gate gradients for the unevaluated candidates.

Forward (as ``binary``): S = Gumbel-top-``num_on`` sample from p = softmax(α);
ō(x) = Σ_{j∈S} o_j(x).
Only the active paths run, in the α step as in the weight step.

State: every LayerChoice keeps, per candidate j, the running average m_j of its past batch-mean
outputs ``o̅_j = mean_batch o_j(x)`` (a buffer of shape (N, *output shape without batch)), updated
whenever j is active in a training-mode forward:

    m_j ← o̅_j                          at j's first observation (no bias towards zero)
    m_j ← (1 - rate) · m_j + rate · o̅_j   afterwards.

α gradient: exact gate gradients for the active candidates, the running average standing in for
the others' outputs (every sample of the batch sees m_j):

    ∂L/∂g_j = <∂L/∂ō, o_j(x)>                  j ∈ S
    ∂L/∂g_j ≈ <Σ_batch ∂L/∂ō, m_j>               j ∉ S   (0 until j has been observed)
    ∂L/∂α_k = p_k (∂L/∂g_k - Σ_j p_j ∂L/∂g_j)      (full softmax Jacobian)

so compute and memory stay those of ``num_on`` paths for any N. The averages are per choice
(choices sharing a label share α but not their outputs), live in the ``moving_average`` child of
each LayerChoice, and are saved and restored by ``state_dict``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dnas.relaxations.binary import GateRelaxation
from dnas.relaxations.gates import GateSample, active_outputs, check_counts, gated_output
from dnas.relaxations.registry import register

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams, LayerChoice, _Choice


class RunningMeans(nn.Module):
    """Per-candidate running averages of batch-mean outputs (the state of one LayerChoice).

    Parameters
    ----------
    n : int
        Number of candidates.
    rate : float
        Weight of the newest batch mean.

    Attributes
    ----------
    mean : Tensor
        Shape ``(n, *feature shape)``; ``(n, 0)`` until the first forward fixes the shape.
    count : Tensor
        Observations per candidate (long).
    """

    mean: torch.Tensor
    count: torch.Tensor

    def __init__(self, n: int, rate: float) -> None:
        super().__init__()
        self.rate = float(rate)
        self.register_buffer("mean", torch.zeros(n, 0))
        self.register_buffer("count", torch.zeros(n, dtype=torch.long))

    def _shape_for(self, feature_shape: torch.Size, like: torch.Tensor) -> None:
        """Create the averages once, when the output shape is first seen."""
        if self.mean.shape[1:] != feature_shape:
            if self.mean.numel() and bool((self.count > 0).any()):
                raise ValueError(
                    f"moving-average: candidate outputs changed shape from "
                    f"{tuple(self.mean.shape[1:])} to {tuple(feature_shape)} (per sample); the "
                    "running averages need a fixed output shape"
                )
            self.mean = like.new_zeros((self.mean.shape[0], *feature_shape))
            self.count = torch.zeros(self.count.shape, dtype=torch.long, device=like.device)

    @torch.no_grad()
    def update(self, indices: torch.Tensor, outputs: list[torch.Tensor]) -> None:
        """Fold the batch means of ``outputs`` (candidates ``indices``) into the averages."""
        new = torch.stack([o.detach().mean(0) for o in outputs]).to(self.mean.dtype)
        self._shape_for(new.shape[1:], new)
        old = self.mean.index_select(0, indices)
        seen = (self.count.index_select(0, indices) > 0).view(-1, *([1] * (new.dim() - 1)))
        blended = torch.where(seen, (1.0 - self.rate) * old + self.rate * new, new)
        self.mean.index_copy_(0, indices, blended)
        self.count.index_add_(0, indices, torch.ones_like(indices, dtype=self.count.dtype))

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # the feature shape is fixed lazily: take it from the checkpoint before loading
        saved = state_dict.get(prefix + "mean")
        if saved is not None and saved.shape != self.mean.shape:
            self.mean = self.mean.new_zeros(saved.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"n={self.mean.shape[0]}, rate={self.rate}"


@register("moving-average")
class MovingAverageGates(GateRelaxation):
    """Binary gates whose unevaluated candidates' gate gradients come from running averages.

    Parameters
    ----------
    num_on : int, default 1
        Active (and evaluated) paths per step; candidates kept at export.
    rate : float, default 0.1
        Weight of the newest batch mean in the running average, in (0, 1].
    """

    def __init__(self, num_on: int = 1, rate: float = 0.1) -> None:
        check_counts(self.name, num_on, None)
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"moving-average: rate={rate!r} must be in (0, 1]")
        self.num_on = num_on
        self.rate = float(rate)

    def _num_eval(self, arch: ArchParams) -> int:
        return self.num_on

    def attach(self, choice: _Choice) -> None:
        if getattr(choice, "candidates", None) is None:  # InputChoice: inputs are all computed
            return
        state = getattr(choice, "moving_average", None)
        if not isinstance(state, RunningMeans) or state.mean.shape[0] != len(choice.names):
            device = choice.arch.alpha.device
            choice.moving_average = RunningMeans(len(choice.names), self.rate).to(device)
        else:
            state.rate = self.rate

    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        # InputChoice: every input is computed, so the exact full-softmax gate gradient applies
        sample = self._sample(arch)
        hard = torch.zeros_like(alpha).index_fill(0, sample.evaluated[: sample.num_on].to(
            alpha.device), 1.0)
        p = torch.softmax(alpha, dim=-1)
        return hard + (p - p.detach())

    def _mix(
        self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> torch.Tensor:
        sample: GateSample = self._sample(choice.arch)
        if not isinstance(getattr(choice, "moving_average", None), RunningMeans):
            self.attach(choice)
        state = choice.moving_average
        assert isinstance(state, RunningMeans)  # attach made it
        outs = active_outputs(choice, sample, args, kwargs)
        if choice.training:
            state.update(sample.evaluated[: sample.num_on], outs)
        means = state.mean.detach().clone()

        def estimate(grad_out: torch.Tensor) -> torch.Tensor:
            if means.shape[1:] != grad_out.shape[1:]:  # not observed yet: no estimate
                return grad_out.new_zeros(means.shape[0])
            # reshape, not flatten(1): per-sample scalar outputs leave means 1-D
            return (grad_out.sum(0).unsqueeze(0) * means).reshape(means.shape[0], -1).sum(1)

        return gated_output(choice, sample, args, kwargs, estimate=estimate, outs=outs)
