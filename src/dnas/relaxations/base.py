"""The relaxation protocol: how a choice's logits α become a differentiable mixture.

A relaxation is a small stateless-ish object shared by the labels it relaxes. The search loop calls

* :meth:`Relaxation.resample` once per label per step (sampling methods draw noise / indices here,
  so every choice bound to the label sees the same sample);
* :meth:`Relaxation.mix` / :meth:`Relaxation.mix_inputs` in the forward pass;
* :meth:`Relaxation.regularizer` on the architecture objective;
* :meth:`Relaxation.set_progress` at each epoch (temperature schedules);
* :meth:`Relaxation.after_arch_step` after the α optimiser's step.

:meth:`Relaxation.select` is the export rule that turns α into chosen candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from dnas.relaxations.mixture import mixed_output, weighted_sum

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams, InputChoice, LayerChoice, _Choice


class Relaxation:
    """Base class: DARTS-style weighted sum of every candidate, softmax probabilities.

    Subclasses override :meth:`weights` (and, for methods that run a subset of candidates,
    :meth:`mix`).
    """

    #: the ``method=`` name (set by :func:`~dnas.relaxations.registry.register`)
    name: str = "base"

    # Capability flags: what a relaxation declares about itself, read by the code that must treat
    # some relaxations differently (never by comparing methods or names).

    #: :meth:`resample` draws random samples (one per label per step, shared by the label)
    stochastic: bool = False
    #: the LayerChoice forward is exactly this class's weighted sum Σ_j weights(α)_j · op_j(x) over
    #: every candidate, so a space may compute that sum its own way (stacked, packed per state)
    #: from :meth:`weights` alone. Opt-in: a subclass that overrides :meth:`mix` must leave it off.
    fused_weighted_sum: bool = False
    #: the forward runs only the candidates the sample picked (a data-dependent dispatch, which
    #: runs outside compiled graphs)
    samples_paths: bool = False
    #: the forward is twice differentiable in α (the exact hypergradient needs it)
    twice_differentiable: bool = True
    #: :meth:`after_arch_step` must run after every α optimiser step
    rescales_after_step: bool = False

    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        """Mixing weights over candidates, differentiable in ``alpha``."""
        return torch.softmax(alpha, dim=-1)

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:
        """The distribution α expresses, used for reporting and export."""
        return torch.softmax(alpha, dim=-1)

    def resample(
        self, alpha: torch.Tensor, arch: ArchParams, generator: torch.Generator | None
    ) -> Any:
        """Draw this step's sample for one label; deterministic methods return ``None``."""
        return None

    def mix(
        self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> torch.Tensor:
        """Forward of a :class:`~dnas.LayerChoice`: Σ_j w_j · op_j(x) (one contraction; zero
        candidates skipped, see :mod:`dnas.relaxations.mixture`)."""
        ops = list(choice.candidates.values())
        return mixed_output(choice.arch.weights(), ops, args, kwargs)

    def mix_inputs(self, choice: InputChoice, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Forward of an :class:`~dnas.InputChoice`: Σ_j w_j · x_j."""
        return weighted_sum(choice.arch.weights(), inputs)

    def attach(self, choice: _Choice) -> None:
        """Called by :func:`dnas.relax` for every choice this relaxation is installed on.

        Relaxations with per-choice state (e.g. moving averages of candidate outputs) register it
        on the choice here, so that it exists before a checkpoint is loaded into the model.
        """

    def regularizer(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor | None:
        """Extra term of the architecture objective for this label (``None`` when there is none)."""
        return None

    def set_progress(self, fraction: float) -> None:
        """Tell the relaxation how far the search has come (0 at start, 1 at the end)."""

    def after_arch_step(self, arch: ArchParams, alpha_before: torch.Tensor) -> None:
        """Hook run after the α optimiser's step (ProxylessNAS rescaling uses it)."""

    def select(self, alpha: torch.Tensor, arch: ArchParams) -> list[int]:
        """Export rule: indices of the :meth:`n_kept` most likely candidates.

        For a LayerChoice a candidate named ``none`` is never chosen (as in DARTS) unless there is
        nothing else to choose.
        """
        k = self.n_kept(arch)
        probs = self.probabilities(alpha.detach()).float().tolist()
        allowed = [
            j for j, n in enumerate(arch.names) if not (arch.kind == "layer" and n == "none")
        ]
        if len(allowed) < k:
            allowed = list(range(len(arch.names)))
        ranked = sorted(allowed, key=lambda j: (-probs[j], j))
        return sorted(ranked[:k])

    def n_kept(self, arch: ArchParams) -> int:
        """How many candidates the exported architecture keeps for this label."""
        return arch.n_chosen

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def one_hot_straight_through(soft: torch.Tensor, index: int) -> torch.Tensor:
    """``one_hot(index)`` in value, the gradient of ``soft`` in backward.

    ``soft - soft.detach()`` is exactly zero in floating point, so the forward value is exactly
    one-hot (no 1e-8 leaks into the unchosen candidates).
    """
    hard = torch.zeros_like(soft)
    hard[index] = 1.0
    return hard + (soft - soft.detach())
