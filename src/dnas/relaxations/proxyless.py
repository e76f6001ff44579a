"""ProxylessNAS binary gates (Cai et al., 2019, section 3.2, eq. 4, and the two-path mode of 3.2.1).

Forward: one candidate ``i ~ softmax(α)`` is sampled per label per step; the gates are
``g = one_hot(i)`` and the output is ``o_i(x)`` (only that path is kept for the weights' backward).

Backward (BinaryConnect through the softmax Jacobian), over the evaluated set E:

    ∂L/∂g_j = <∂L/∂ō, o_j(x)>                                       (j ∈ E)
    ∂L/∂α_k = Σ_{j∈E} ∂L/∂g_j q_j (δ_jk - q_k),     q = softmax(α_E)

``num_eval=None`` (default): E = every candidate, q = p = softmax(α) — eq. 4. ``num_eval=2``: the
paper's two-path mode, E = {i, one more candidate drawn without replacement}; after the
optimiser's step α_E is shifted so that E's total probability under softmax over all candidates
is what it was before the step (the paper's rescaling, over the involved paths only and for any
optimiser — not only SGD with learning rate 1).

The other candidates' outputs ``o_j(x)`` are recomputed inside the backward pass, without
autograd and with BatchNorm statistics left untouched, so their activations are never stored:
memory stays that of a single path (the ProxylessNAS memory trick). Gate gradients are only
computed when α requires a gradient (the search's α step); the weight step runs the sampled path
alone. Shared machinery: :mod:`dnas.relaxations.gates`.
"""

from __future__ import annotations

import torch

from dnas.relaxations.binary import GateRelaxation
from dnas.relaxations.gates import GateSample, check_counts, rescale_involved
from dnas.relaxations.registry import register


@register("proxyless")
class BinaryGates(GateRelaxation):
    """ProxylessNAS: one sampled path in forward, gate gradients in backward.

    The gradient is computed in a custom backward (recomputation), so it is not twice
    differentiable: the exact second-order hypergradient is not available for this method (the
    finite-difference one is).

    Parameters
    ----------
    num_eval : int or None, default None
        Candidates whose gate gradient is computed: ``None`` for all (eq. 4), ``2`` for the
        paper's two-path mode.
    rescale : bool, default True
        With ``num_eval`` below N, keep the involved paths' total probability after each α step.
    """

    name = "proxyless"

    def __init__(self, num_eval: int | None = None, rescale: bool = True) -> None:
        check_counts(self.name, 1, num_eval)
        self.num_on = 1
        self.num_eval = num_eval
        self.rescale = bool(rescale)

    def _num_eval(self, arch) -> int:
        return len(arch.names) if self.num_eval is None else min(self.num_eval, len(arch.names))

    def resample(self, alpha, arch, generator):
        probs = torch.softmax(alpha.float(), dim=-1)
        m = self._num_eval(arch)
        if m == len(arch.names):  # one draw, the rest in order: E = every candidate
            i = int(torch.multinomial(probs, 1, generator=generator))
            order = [i] + [j for j in range(len(probs)) if j != i]
        else:
            order = torch.multinomial(probs, m, replacement=False, generator=generator).tolist()
        return GateSample(torch.tensor(order, device=alpha.device), 1, tuple(order))

    def after_arch_step(self, arch, alpha_before) -> None:
        if self.rescale and isinstance(arch.sample, GateSample):
            rescale_involved(arch.alpha, alpha_before, arch.sample.indices)

