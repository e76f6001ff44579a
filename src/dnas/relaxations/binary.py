"""Binary gates with ``num_on`` active paths (ProxylessNAS, Cai et al., 2019, eq. 4; BinaryConnect).

Forward: S = Gumbel-top-``num_on`` sample (without replacement) from p = softmax(α), drawn once per
label per step with the search's generator; the output is the *unweighted* sum

    ō(x) = Σ_{j∈S} o_j(x).

α gradient: every candidate is a gate; its gradient ∂L/∂g_j = <∂L/∂ō, o_j(x)> goes through the
softmax Jacobian,

    ∂L/∂α_k = Σ_j ∂L/∂g_j p_j (δ_jk - p_k) = p_k (∂L/∂g_k - Σ_j p_j ∂L/∂g_j).

The unselected candidates run only inside the backward pass, without autograd and with cloned
buffers, one at a time: their activations are never stored, so memory is that of ``num_on``
paths whatever the number of candidates (compute still grows with it; see ``binary-masked``).
The weight step (α frozen) runs the active paths alone. Export keeps the top-``num_on``
candidates, and :func:`dnas.fix` builds their sum.
"""

from __future__ import annotations

import torch

from dnas.relaxations.base import Relaxation
from dnas.relaxations.gates import (
    GateSample,
    check_counts,
    check_fits,
    compiling,
    gated_output,
    gumbel_top,
    has_buffers,
    outside_graph,
    straight_through_weights,
)
from dnas.relaxations.registry import register


class GateRelaxation(Relaxation):
    """Common part of the binary-gate family: sampling, forward, InputChoice weights, export."""

    stochastic = True
    twice_differentiable = False  # the gate gradient is a custom backward

    num_on: int = 1

    def _num_eval(self, arch) -> int:
        return len(arch.names)

    def resample(self, alpha, arch, generator) -> GateSample:
        check_fits(self.name, arch, self.num_on, "num_on")
        m = min(self._num_eval(arch), len(arch.names))
        return gumbel_top(alpha, m, self.num_on, generator)

    def _sample(self, arch) -> GateSample:
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

    def weights(self, alpha, arch):
        return straight_through_weights(alpha, self._sample(arch))

    def mix(self, choice, args, kwargs):
        if compiling() and has_buffers(choice):
            return self._mix_eager(choice, args, kwargs)
        return self._mix(choice, args, kwargs)

    def _mix(self, choice, args, kwargs):
        return gated_output(choice, self._sample(choice.arch), args, kwargs)

    @outside_graph
    def _mix_eager(self, choice, args, kwargs):
        return self._mix(choice, args, kwargs)

    def mix_inputs(self, choice, inputs):
        # every input is already computed: the straight-through weights give the gate gradient
        w = choice.arch.weights()
        return sum(w[j] * x for j, x in enumerate(inputs))

    def n_kept(self, arch):
        """``max(num_on, n_chosen)`` for a LayerChoice (its sum of paths is what was trained),
        ``n_chosen`` for an InputChoice."""
        k = max(self.num_on, arch.n_chosen) if arch.kind == "layer" else arch.n_chosen
        return min(k, len(arch.names))


@register("binary")
class BinaryGates(GateRelaxation):
    """``num_on`` sampled paths in forward, gate gradients of every candidate in backward.

    Parameters
    ----------
    num_on : int, default 1
        Active paths per step (and candidates kept at export).
    """

    name = "binary"

    def __init__(self, num_on: int = 1) -> None:
        check_counts(self.name, num_on, None)
        self.num_on = num_on


