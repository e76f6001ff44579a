"""Masked binary gates: gate gradients from a sampled subset (ProxylessNAS' two-path mode,
Cai et al., 2019, section 3.2.1, generalised to ``num_on`` active of ``num_eval`` evaluated paths).

Sampling: E = Gumbel-top-``num_eval`` sample from p = softmax(α) (without replacement); the active
set S is its first ``num_on`` members (itself a Gumbel-top-``num_on`` sample).

Forward: ō(x) = Σ_{j∈S} o_j(x) (unweighted, as ``binary``).

α gradient — the binary-gate gradient *restricted to E with the softmax renormalised over E*:

    q = softmax(α_E),   ∂L/∂g_j = <∂L/∂ō, o_j(x)>  (j ∈ E)
    ∂L/∂α_k = q_k (∂L/∂g_k - Σ_{j∈E} q_j ∂L/∂g_j)   for k ∈ E,     ∂L/∂α_k = 0  for k ∉ E.

This is the exact ProxylessNAS gradient of the sub-problem "choose among E with logits α_E";
only ``num_eval - num_on`` extra candidates run (inside the backward pass, without stored
activations), so compute per step scales with ``num_eval``, not with N. Because the update only
moves α within E, :meth:`after_arch_step` (``rescale=True``) shifts α_E after the optimiser's step
so that the probability mass of E under softmax over *all* candidates is unchanged — the
ProxylessNAS rescaling, done over the involved paths only and valid for any optimiser.
"""

from __future__ import annotations

from dnas.relaxations.binary import GateRelaxation
from dnas.relaxations.gates import GateSample, check_counts, rescale_involved
from dnas.relaxations.registry import register


@register("binary-masked")
class MaskedBinaryGates(GateRelaxation):
    """``num_on`` active paths; gate gradients from ``num_eval`` sampled candidates only.

    Parameters
    ----------
    num_on : int, default 1
        Active paths per step (and candidates kept at export).
    num_eval : int, default 2
        Candidates whose gate gradient is computed (``num_on <= num_eval``; capped at N).
    rescale : bool, default True
        Keep the involved candidates' total probability after each α step.
    """

    name = "binary-masked"

    def __init__(self, num_on: int = 1, num_eval: int = 2, rescale: bool = True) -> None:
        check_counts(self.name, num_on, num_eval)
        self.num_on = num_on
        self.num_eval = num_eval
        self.rescale = bool(rescale)

    def _num_eval(self, arch) -> int:
        return self.num_eval

    def after_arch_step(self, arch, alpha_before) -> None:
        if self.rescale and isinstance(arch.sample, GateSample):
            rescale_involved(arch.alpha, alpha_before, arch.sample.indices)
