"""Binary gates: the machinery shared by ``binary``, ``binary-masked``, ``proxyless`` and
``moving-average`` (ProxylessNAS, Cai et al., 2019, section 3.2; BinaryConnect, Courbariaux et
al., 2015).

A step samples an *evaluated* set E of candidates and, inside it, an *active* set S (the first
``num_on`` of E). With gates ``g_j = 1[j ∈ S]`` the forward pass is

    ō(x) = Σ_{j∈S} o_j(x)                                   (only the active paths keep activations)

and the gate gradient of an evaluated candidate is

    ∂L/∂g_j = <∂L/∂ō, o_j(x)>,   j ∈ E

where ``o_j(x)`` for ``j ∉ S`` is recomputed *inside the backward pass*, without autograd and with
buffers (BatchNorm running statistics) cloned, so no other candidate's activations are ever
stored. α receives the gate gradient through the softmax Jacobian restricted to E:

    q = softmax(α_E),   ∂L/∂α_k = q_k (∂L/∂g_k - Σ_{j∈E} q_j ∂L/∂g_j)   (k ∈ E; 0 otherwise)

With E = all candidates, q = softmax(α) and this is ProxylessNAS eq. 4 exactly.
``moving-average`` instead supplies an estimate of ``∂L/∂g_j`` for the unevaluated candidates
and uses the full softmax Jacobian.

Compilation: the sample carries its indices both as Python ints (the eager path: no host sync)
and as a tensor (the compiled path), so a new sample never triggers a recompile. Under
``torch.compile`` the active path is picked with ``torch.cond`` on the index tensor when no
candidate has buffers. ``torch.cond`` forbids mutating buffers inside a branch (BatchNorm's
running statistics; threading them through the branches as operands and outputs trips an
AOTAutograd assertion in torch 2.13), so choices whose candidates have buffers run their dispatch
outside the graph (:func:`outside_graph`): one graph break per such choice, no recompiles.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn
from torch.autograd import Function
from torch.func import functional_call

from dnas.optim.objective import tied_slots

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams, LayerChoice

T = TypeVar("T")


@dataclass(frozen=True)
class GateSample:
    """One label's sample for one step.

    Attributes
    ----------
    evaluated : Tensor
        Long tensor of the evaluated candidates E, active ones first.
    num_on : int
        How many of them are active (|S|).
    indices : tuple of int
        ``evaluated`` as Python ints (used in eager mode only).
    """

    evaluated: torch.Tensor
    num_on: int
    indices: tuple[int, ...]

    @property
    def on(self) -> tuple[int, ...]:
        return self.indices[: self.num_on]


def gumbel_top(
    alpha: torch.Tensor, m: int, num_on: int, generator: torch.Generator | None
) -> GateSample:
    """Gumbel-top-m: m candidates drawn without replacement from softmax(α) (Kool et al., 2019).

    The first ``num_on`` are a Gumbel-top-``num_on`` sample themselves (a prefix of the ranking).
    """
    u = torch.rand(alpha.shape, generator=generator, device=alpha.device, dtype=torch.float64)
    tiny = torch.finfo(u.dtype).tiny
    gumbel = -torch.log((-torch.log(u.clamp_min(tiny))).clamp_min(tiny))
    keys = torch.log_softmax(alpha.double(), dim=-1) + gumbel
    order = torch.argsort(keys, descending=True)[:m]
    return GateSample(order, num_on, tuple(order.tolist()))  # one host sync per label per step


def multinomial_top(
    alpha: torch.Tensor, m: int, num_on: int, generator: torch.Generator | None
) -> GateSample:
    """m candidates drawn without replacement from softmax(α) by ``torch.multinomial``.

    With m = N the first ``num_on`` are drawn and the others follow in index order (all are
    evaluated, so their order does not matter): one draw, not N, for ProxylessNAS' eq. 4.
    """
    probs = torch.softmax(alpha.float(), dim=-1)
    n = probs.shape[-1]
    if m == n:
        drawn = torch.multinomial(probs, num_on, generator=generator).tolist()
        order = drawn + [j for j in range(n) if j not in drawn]
    else:
        order = torch.multinomial(probs, m, replacement=False, generator=generator).tolist()
    return GateSample(torch.tensor(order, device=alpha.device), num_on, tuple(order))


#: how a gate relaxation draws its evaluated set: ``name -> sampler(alpha, m, num_on, generator)``
SAMPLERS: dict[str, Callable[[torch.Tensor, int, int, torch.Generator | None], GateSample]] = {
    "gumbel-top": gumbel_top,
    "multinomial": multinomial_top,
}


def check_counts(name: str, num_on: int, num_eval: int | None) -> None:
    """Validate ``num_on`` / ``num_eval`` options (bounds against N are checked at sampling)."""
    if isinstance(num_on, bool) or not isinstance(num_on, int) or num_on < 1:
        raise ValueError(f"{name}: num_on={num_on!r} must be an integer >= 1")
    if num_eval is not None and (
        isinstance(num_eval, bool) or not isinstance(num_eval, int) or num_eval < num_on
    ):
        raise ValueError(f"{name}: num_eval={num_eval!r} must be an integer >= num_on={num_on}")


def check_fits(name: str, arch: ArchParams, count: int, what: str) -> None:
    """A clear error when ``count`` paths are asked of a label with fewer candidates."""
    if count > len(arch.names):
        raise ValueError(
            f"{name}: {what}={count} exceeds the {len(arch.names)} candidates of label "
            f"{arch.label!r}"
        )


def _run_fn(
    op: nn.Module,
    params: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> torch.Tensor:
    """``op(*args)`` with the parameters seen at forward time, cloned buffers, no autograd.

    Each (module, attribute) slot is swapped once (``tie_weights=False``, tied tensors given to
    every slot), as in :class:`dnas.optim.objective.Objective`: a module reached along several
    paths inside ``op`` (a value choice shared by its layers) would otherwise be restored to the
    substitute and keep a plain tensor where its Parameter was.
    """
    state = dict(params)
    state.update({n: b.clone() for n, b in buffers.items()})
    for name, others in tied_slots(op).items():
        if name in state:
            state.update(dict.fromkeys(others, state[name]))
    with torch.no_grad():
        out = functional_call(op, state, args, kwargs, tie_weights=False)
    return out


def select(index: torch.Tensor, fns: Sequence[Callable[[], torch.Tensor]]) -> torch.Tensor:
    """``fns[index]()`` with a tensor ``index``, by a chain of ``torch.cond`` (compiled path only).

    Only the chosen branch runs. Branch outputs are cloned when they alias an input (identity
    candidates), which ``torch.cond`` does not allow.
    """

    def branch(j: int) -> Callable[..., torch.Tensor]:
        def run(*_: Any) -> torch.Tensor:
            return fns[j]().clone()

        return run

    def chain(j: int) -> Callable[..., torch.Tensor]:
        if j == len(fns) - 1:
            return branch(j)
        rest = chain(j + 1)
        return lambda *_: torch.cond(index == j, branch(j), rest, ())

    return chain(0)()


@dataclass
class _Spec:
    """Non-tensor context of one gate application (modules, frozen parameters, options)."""

    ops: list[nn.Module]
    params: list[dict]
    buffers: list[dict]
    arg_slots: list  # positional args; tensors replaced by None (passed to apply separately)
    kwargs: dict
    num_on: int
    indices: tuple[int, ...] | None  # eager: Python ints; compiled: None (use the tensor)
    estimate: Callable[[torch.Tensor], torch.Tensor] | None  # moving-average: ∂L/∂g estimates


class _GateGradient(Function):
    """Identity on the forward output; the binary-gate gradient for α in backward."""

    @staticmethod
    def forward(
        ctx: Any,
        out: torch.Tensor,
        alpha: torch.Tensor,
        evaluated: torch.Tensor,
        spec: _Spec,
        *tensors: torch.Tensor,
    ) -> torch.Tensor:
        ctx.spec = spec
        ctx.save_for_backward(alpha, evaluated, *tensors)
        return out.view_as(out)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        spec: _Spec = ctx.spec
        alpha, evaluated, *tensors = ctx.saved_tensors
        on_outs, arg_tensors = tensors[: spec.num_on], iter(tensors[spec.num_on:])
        args = tuple(next(arg_tensors) if a is None else a for a in spec.arg_slots)
        grad_alpha = None
        if ctx.needs_input_grad[1]:
            fns = [
                (lambda op=op, p=p, b=b: _run_fn(op, p, b, args, spec.kwargs))
                for op, p, b in zip(spec.ops, spec.params, spec.buffers)
            ]
            dg = []
            for t in range(evaluated.shape[0]):
                if t < spec.num_on:
                    o = on_outs[t]
                elif spec.indices is not None:
                    o = fns[spec.indices[t]]()
                else:
                    o = select(evaluated[t], fns)
                dg.append((grad_out * o).sum())
            dg_e = torch.stack(dg).to(alpha.dtype)
            a = alpha.detach()
            if spec.estimate is None:  # softmax restricted to E (E = all: ProxylessNAS eq. 4)
                q = torch.softmax(a.index_select(0, evaluated), dim=-1)
                g_e = q * (dg_e - (q * dg_e).sum())
                grad_alpha = torch.zeros_like(a).index_add(0, evaluated, g_e)
            else:  # full softmax, estimated gate gradients for the unevaluated candidates
                dg_all = spec.estimate(grad_out).to(a.dtype).index_copy(0, evaluated, dg_e)
                p = torch.softmax(a, dim=-1)
                grad_alpha = p * (dg_all - (p * dg_all).sum())
        return (grad_out, grad_alpha, None, None) + (None,) * len(tensors)


def compiling() -> bool:
    return torch.compiler.is_compiling()


def outside_graph(method: Callable[..., T]) -> Callable[..., T]:
    """Run ``method`` eagerly when called from compiled code (a graph break, never a recompile:
    dynamo does not guard on what the eager function reads, such as a sampled Python index)."""
    eager: list[Callable] = []  # built on first compiled call: disable() imports dynamo (~2 s)

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if not compiling():
            return method(*args, **kwargs)
        if not eager:
            eager.append(torch.compiler.disable(method, recursive=True))
        return eager[0](*args, **kwargs)

    return wrapper


def has_buffers(choice: LayerChoice) -> bool:
    """Whether any candidate of ``choice`` owns buffers (then its dispatch stays out of graphs)."""
    return any(True for op in choice.candidates.values() for _ in op.buffers())


def active_outputs(
    choice: LayerChoice, sample: GateSample, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[torch.Tensor]:
    """Outputs of the active candidates (eager: by Python index; compiled: ``torch.cond``)."""
    ops = list(choice.candidates.values())
    if not compiling():
        return [ops[j](*args, **kwargs) for j in sample.on]
    fns = [(lambda op=op: op(*args, **kwargs)) for op in ops]
    return [select(sample.evaluated[t], fns) for t in range(sample.num_on)]


def gated_output(
    choice: LayerChoice,
    sample: GateSample,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    estimate: Callable[[torch.Tensor], torch.Tensor] | None = None,
    outs: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Σ of the active outputs, with the gate gradient attached when α requires a gradient.

    The parameters and buffers of every candidate are captured *now*, so the backward pass
    recomputes with the weights this forward used (under ``functional_call`` these are the
    hypergradient's shifted weights, not the module's own).
    """
    if outs is None:
        outs = active_outputs(choice, sample, args, kwargs)
    out = outs[0] if len(outs) == 1 else torch.stack(outs).sum(0)
    alpha = choice.arch.alpha
    if not (torch.is_grad_enabled() and alpha.requires_grad):
        return out
    ops = list(choice.candidates.values())
    arg_tensors = [a for a in args if isinstance(a, torch.Tensor)]
    spec = _Spec(
        ops=ops,
        params=[dict(op.named_parameters()) for op in ops],
        buffers=[dict(op.named_buffers()) for op in ops],
        arg_slots=[None if isinstance(a, torch.Tensor) else a for a in args],
        kwargs=dict(kwargs),
        num_on=sample.num_on,
        indices=None if compiling() else sample.indices,
        estimate=estimate,
    )
    detached = [o.detach() for o in outs] + [a.detach() for a in arg_tensors]
    return _GateGradient.apply(out, alpha, sample.evaluated, spec, *detached)


def straight_through_weights(alpha: torch.Tensor, sample: GateSample) -> torch.Tensor:
    """Gates ``1[j ∈ S]`` in value; in backward the softmax-restricted-to-E Jacobian.

    ``Σ_j w_j x_j`` with these weights gives exactly the gate gradient above when every ``x_j``
    is already computed (InputChoice).
    """
    evaluated = sample.evaluated.to(alpha.device)
    q = torch.softmax(alpha.index_select(0, evaluated), dim=-1)
    soft = torch.zeros_like(alpha).index_add(0, evaluated, q - q.detach())
    hard = torch.zeros_like(alpha).index_fill(0, evaluated[: sample.num_on], 1.0)
    return hard + soft


def rescale_involved(
    alpha: torch.Tensor, alpha_before: torch.Tensor, involved: Sequence[int]
) -> None:
    """Shift α of the involved candidates so their total probability mass is what it was.

    With E the involved set and A = α after the optimiser's step, adding

        c = [lse(α_before,E) - lse(α_before,¬E)] - [lse(A_E) - lse(A_¬E)]

    to ``A_E`` keeps the log-odds of E against the rest, hence Σ_{j∈E} softmax(α)_j, unchanged,
    whatever the optimiser did to either part (momentum, weight decay, Adam's moments). When E is
    every candidate the mass is 1 anyway and nothing is done.
    """
    mask = torch.zeros(alpha.shape, dtype=torch.bool, device=alpha.device)
    mask[torch.as_tensor(involved, device=alpha.device)] = True
    if bool(mask.all()):
        return
    with torch.no_grad():
        a0, a1 = alpha_before.double(), alpha.detach().double()
        c = (a0[mask].logsumexp(0) - a0[~mask].logsumexp(0)) - (
            a1[mask].logsumexp(0) - a1[~mask].logsumexp(0)
        )
        alpha[mask] += c.to(alpha.dtype)
