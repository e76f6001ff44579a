"""Binary gates (ProxylessNAS, Cai et al., 2019, section 3.2, eq. 4; BinaryConnect), one class
with three registered presets: ``binary``, ``binary-masked`` and ``proxyless``.

Sampling, once per label per step with the search's generator: an *evaluated* set E of
``num_eval`` candidates (all of them by default) drawn without replacement from p = softmax(α),
and inside it the *active* set S, the first ``num_on`` members of E (itself a sample of ``num_on``
without replacement). The gates are g_j = 1[j ∈ S] and the output is the *unweighted* sum

    ō(x) = Σ_{j∈S} o_j(x).

α gradient: every evaluated candidate is a gate with gradient ∂L/∂g_j = <∂L/∂ō, o_j(x)>, taken
through the softmax Jacobian restricted to E (with E = all candidates, q = p and this is eq. 4):

    q = softmax(α_E),   ∂L/∂α_k = q_k (∂L/∂g_k - Σ_{j∈E} q_j ∂L/∂g_j)   (k ∈ E; 0 otherwise).

The candidates in E but not in S run only inside the backward pass, without autograd and with
cloned buffers, one at a time: their activations are never stored, so memory is that of
``num_on`` paths whatever the number of candidates; compute scales with ``num_eval``. The weight
step (α frozen) runs the active paths alone. With E smaller than the candidate list, the update
only moves α_E; ``rescale=True`` then shifts α_E after the optimiser's step so that the mass of E
under softmax over *all* candidates is unchanged — the paper's rescaling, over the involved paths
only and valid for any optimiser. Export keeps the top-``num_on`` candidates, and
:func:`dnas.fix` builds their sum.

The presets (names of ``method=``):

* ``binary``: ``num_on`` active paths (option), gate gradients of every candidate.
* ``binary-masked``: ``num_on`` active of ``num_eval`` evaluated (options; default 1 of 2) —
  ProxylessNAS' two-path mode generalised; ``rescale`` (option, default on).
* ``proxyless``: one active path, E = every candidate (eq. 4) or ``num_eval`` of them (2: the
  two-path mode), ``rescale`` (option). It draws with ``torch.multinomial`` where the others draw
  Gumbel-top-k keys: the same distribution, another random stream (kept, so that seeded
  ProxylessNAS searches reproduce).

Shared machinery (sample, custom backward, compilation): :mod:`dnas.relaxations.gates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from dnas.relaxations.base import Relaxation
from dnas.relaxations.gates import (
    SAMPLERS,
    GateSample,
    check_counts,
    check_fits,
    compiling,
    gated_output,
    has_buffers,
    outside_graph,
    rescale_involved,
    straight_through_weights,
)
from dnas.relaxations.registry import register

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams, InputChoice, LayerChoice


class GateRelaxation(Relaxation):
    """What every binary-gate estimator shares: sampling, forward dispatch, InputChoice weights,
    export. Subclasses say how many candidates are evaluated and how the gate gradient is formed.
    """

    stochastic = True
    samples_paths = True
    twice_differentiable = False  # the gate gradient is a custom backward

    num_on: int = 1
    sampler: str = "gumbel-top"

    def _num_eval(self, arch: ArchParams) -> int:
        return len(arch.names)

    def resample(
        self, alpha: torch.Tensor, arch: ArchParams, generator: torch.Generator | None
    ) -> GateSample:
        check_fits(self.name, arch, self.num_on, "num_on")
        m = min(self._num_eval(arch), len(arch.names))
        return SAMPLERS[self.sampler](alpha, m, self.num_on, generator)

    def _sample(self, arch: ArchParams) -> GateSample:
        sample = arch.sample
        if isinstance(sample, int) and not isinstance(sample, bool):
            sample = (sample,)
        if (isinstance(sample, tuple) and sample and len(sample) == self.num_on
                and all(isinstance(j, int) and 0 <= j < len(arch.names) for j in sample)):
            # hand-set active indices (tests, replays): the others evaluated in index order
            rest = [j for j in range(len(arch.names)) if j not in sample]
            order = [*sample, *rest][: max(self._num_eval(arch), self.num_on)]
            arch.sample = GateSample(torch.tensor(order, device=arch.alpha.device), self.num_on,
                                     tuple(order))
        if not isinstance(arch.sample, GateSample):
            raise RuntimeError(
                f"label {arch.label!r}: {self.name!r} needs a sample; call dnas.resample(model) "
                "before the forward pass (dnas.search does this every step)"
            )
        return arch.sample

    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        return straight_through_weights(alpha, self._sample(arch))

    def mix(self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
            ) -> torch.Tensor:
        if compiling() and has_buffers(choice):
            return self._mix_eager(choice, args, kwargs)
        return self._mix(choice, args, kwargs)

    def _mix(self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
             ) -> torch.Tensor:
        return gated_output(choice, self._sample(choice.arch), args, kwargs)

    @outside_graph
    def _mix_eager(self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
                   ) -> torch.Tensor:
        return self._mix(choice, args, kwargs)

    def mix_inputs(self, choice: InputChoice, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        # every input is already computed: the straight-through weights give the gate gradient
        w = choice.arch.weights()
        return sum(w[j] * x for j, x in enumerate(inputs))  # type: ignore[return-value]

    def n_kept(self, arch: ArchParams) -> int:
        """``max(num_on, n_chosen)`` for a LayerChoice (its sum of paths is what was trained),
        ``n_chosen`` for an InputChoice."""
        k = max(self.num_on, arch.n_chosen) if arch.kind == "layer" else arch.n_chosen
        return min(k, len(arch.names))


@register("proxyless", fixed={"num_on": 1, "sampler": "multinomial"})
@register("binary-masked", defaults={"num_eval": 2}, fixed={"sampler": "gumbel-top"})
@register("binary", fixed={"num_eval": None, "rescale": False, "sampler": "gumbel-top"})
class BinaryGates(GateRelaxation):
    """Binary gates: ``num_on`` sampled paths forward, ``num_eval`` gate gradients backward.

    Parameters
    ----------
    num_on : int, default 1
        Active paths per step (and candidates kept at export).
    num_eval : int or None, default None
        Candidates whose gate gradient is computed (``num_on <= num_eval``; capped at the number
        of candidates); ``None`` for all of them.
    rescale : bool, default True
        With ``num_eval`` set, keep the involved candidates' total probability after each α step.
    sampler : {"gumbel-top", "multinomial"}, default "gumbel-top"
        How E is drawn: Gumbel-top-k keys, or ``torch.multinomial`` (the ``proxyless`` preset).
        Both draw without replacement from softmax(α).
    name : str, default "binary"
        The method name reported in exports and summaries (the registry passes its preset's).
    """

    def __init__(
        self,
        num_on: int = 1,
        num_eval: int | None = None,
        rescale: bool = True,
        sampler: str = "gumbel-top",
        *,
        name: str = "binary",
    ) -> None:
        check_counts(name, num_on, num_eval)
        if sampler not in SAMPLERS:
            raise ValueError(f"{name}: sampler={sampler!r} is not one of {sorted(SAMPLERS)}")
        self.name = name
        self.num_on = num_on
        self.num_eval = num_eval
        self.rescale = bool(rescale)
        self.sampler = sampler

    @property
    def rescales_after_step(self) -> bool:  # type: ignore[override]
        return self.rescale and self.num_eval is not None

    def _num_eval(self, arch: ArchParams) -> int:
        n = len(arch.names)
        return n if self.num_eval is None else min(self.num_eval, n)

    def after_arch_step(self, arch: ArchParams, alpha_before: torch.Tensor) -> None:
        if self.rescales_after_step and isinstance(arch.sample, GateSample):
            rescale_involved(arch.alpha, alpha_before, arch.sample.indices)
