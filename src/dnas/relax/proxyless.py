"""ProxylessNAS binary gates (Cai et al., 2019, section 3.2, eq. 4).

Forward: one candidate ``i ~ softmax(α)`` is sampled per label per step; the gates are
``g = one_hot(i)`` and the output is ``o_i(x)`` (only that path is kept for the weights' backward).

Backward (BinaryConnect through the softmax Jacobian):

    ∂L/∂g_j = <∂L/∂ō, o_j(x)>
    ∂L/∂α_k = Σ_j ∂L/∂g_j · p_j (δ_jk - p_k),      p = softmax(α)

The other candidates' outputs ``o_j(x)`` are recomputed inside the backward pass, without autograd
and with BatchNorm statistics left untouched, so their activations are never stored: memory stays
that of a single path (the ProxylessNAS memory trick). Gate gradients are only computed when α
requires a gradient (the search's α step); the weight step runs the sampled path alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.autograd import Function
from torch.func import functional_call

from dnas.relax.base import Relaxation, one_hot_straight_through
from dnas.relax.registry import register


def _run_detached(op: nn.Module, args: tuple, kwargs: dict) -> torch.Tensor:
    """``op(*args)`` without autograd and without touching its buffers (BN running stats)."""
    state = dict(op.named_parameters())
    state.update({n: b.clone() for n, b in op.named_buffers()})
    with torch.no_grad():
        return functional_call(op, state, args, kwargs)


class _GateGradient(Function):
    """Identity on the sampled output; injects the binary-gate gradient into α."""

    @staticmethod
    def forward(ctx, out_i, alpha, probs_fn, ops, index, args, kwargs):
        ctx.save_for_backward(out_i, alpha)
        ctx.probs_fn, ctx.ops, ctx.index, ctx.args, ctx.kwargs = probs_fn, ops, index, args, kwargs
        return out_i.view_as(out_i)

    @staticmethod
    def backward(ctx, grad_out):
        out_i, alpha = ctx.saved_tensors
        grad_alpha = None
        if ctx.needs_input_grad[1]:
            dg = []
            for j, op in enumerate(ctx.ops):
                o_j = out_i if j == ctx.index else _run_detached(op, ctx.args, ctx.kwargs)
                dg.append((grad_out * o_j).sum())
            dg_t = torch.stack(dg).to(alpha.dtype)
            with torch.enable_grad():
                a = alpha.detach().requires_grad_(True)
                p = ctx.probs_fn(a)
                (grad_alpha,) = torch.autograd.grad(p, a, grad_outputs=dg_t)
        return grad_out, grad_alpha, None, None, None, None, None


def gate_gradient_output(
    out_i: torch.Tensor,
    alpha: torch.Tensor,
    ops: Sequence[nn.Module],
    index: int,
    args: tuple,
    kwargs: dict,
    probs_fn=lambda a: torch.softmax(a, dim=-1),
) -> torch.Tensor:
    """Attach the binary-gate gradient ``∂L/∂α`` to the sampled path's output ``out_i``."""
    if not (torch.is_grad_enabled() and alpha.requires_grad):
        return out_i
    return _GateGradient.apply(out_i, alpha, probs_fn, list(ops), index, args, kwargs)


@register("proxyless")
class BinaryGates(Relaxation):
    """ProxylessNAS: one sampled path in forward, gate gradients for every candidate in backward.

    The gradient is computed in a custom backward (recomputation), so it is not twice
    differentiable: the exact second-order hypergradient is not available for this method (the
    finite-difference one is).
    """

    name = "proxyless"
    stochastic = True
    twice_differentiable = False

    def resample(self, alpha, arch, generator):
        probs = torch.softmax(alpha.float(), dim=-1)
        return int(torch.multinomial(probs, 1, generator=generator))

    def _index(self, arch) -> int:
        if arch.sample is None:
            raise RuntimeError(
                f"label {arch.label!r}: ProxylessNAS needs a sample; call dnas.resample(model) "
                "before the forward pass (dnas.search does this every step)"
            )
        return arch.sample

    def weights(self, alpha, arch):
        return one_hot_straight_through(torch.softmax(alpha, dim=-1), self._index(arch))

    def mix(self, choice, args, kwargs):
        arch = choice.arch
        i = self._index(arch)
        ops = list(choice.candidates.values())
        out_i = ops[i](*args, **kwargs)
        return gate_gradient_output(out_i, arch.alpha, ops, i, args, kwargs)

    def mix_inputs(self, choice, inputs):
        # every input is already computed: the straight-through form gives the same gradient
        # Σ_j <∂L/∂ō, x_j> ∂p_j/∂α exactly, with an exactly one-hot forward value
        w = choice.arch.weights()
        return sum(w[j] * x for j, x in enumerate(inputs))
