"""Architecture gradients of the bilevel problem (Liu et al., 2019, DARTS eqs. 6-8).

    min_α L_val(w*(α), α)   s.t.   w*(α) = argmin_w L_train(w, α)

First order (ξ = 0):           ∇_α L_val(w, α)
eq. 6 (virtual step):          w' = w - ξ ∇_w L_train(w, α)                   (the optimiser's step)
eq. 7 (chain rule):            ∇_α L_val(w', α) - ξ ∇²_{α,w} L_train(w, α) · ∇_w' L_val(w', α)
eq. 8 (finite differences):    ∇²_{α,w} L_train(w, α) · v
                                   ≈ (∇_α L_train(w⁺, α) - ∇_α L_train(w⁻, α)) / 2ε,
                               w± = w ± ε v,  ε = 0.01 / ‖v‖        (evaluated at w, not at w')

The virtual step lives in :mod:`dnas.optim.unrolled`, the functional L(w, α) in
:mod:`dnas.optim.objective`. ``mode="exact"`` replaces eqs. 7-8 by differentiating L_val(w'(α), α)
through the virtual step (double backward; used to test the finite difference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from dnas.optim.objective import Batch, LossFn, Objective
from dnas.optim.unrolled import virtual_step

MODES = ("finite-difference", "exact")

Grads = dict[str, torch.Tensor]
Reduce = Callable[[dict[str, torch.Tensor | None]], dict[str, torch.Tensor | None]]


def architecture_gradient(
    model: nn.Module,
    loss_fn: LossFn,
    train_batch: Batch,
    valid_batch: Batch,
    w_optimizer: torch.optim.Optimizer | None = None,
    order: int = 1,
    *,
    mode: str = "finite-difference",
    r: float = 0.01,
) -> dict[str, torch.Tensor]:
    """The gradient of the architecture objective with respect to every label's α.

    Parameters
    ----------
    model : nn.Module
        The search model (choices already relaxed; sampling relaxations already resampled).
    loss_fn : callable
        ``loss_fn(model_output, target) -> scalar``.
    train_batch, valid_batch : (x, y)
        One batch of each split.
    w_optimizer : torch.optim.SGD, optional
        The weight optimiser whose next step is unrolled (required for ``order=2``).
    order : {1, 2}
        First order (ξ = 0) or second order (unrolled virtual step).
    mode : {"finite-difference", "exact"}
        Second order only: the paper's finite-difference Hessian-vector product, or exact
        differentiation through the virtual step (double backward; for testing and small models).
    r : float, default 0.01
        ε = r / ‖v‖ for the finite difference.

    Returns
    -------
    dict[str, torch.Tensor]
        ``{label: ∂L_val/∂α}``; includes the relaxation's regulariser (e.g. Fair DARTS' zero-one
        loss). Labels unused by the forward pass get zeros.
    """
    grads, _ = hypergradient(
        model, loss_fn, train_batch, valid_batch, w_optimizer, order, mode=mode, r=r
    )
    return grads


def hypergradient(
    model: nn.Module,
    loss_fn: LossFn,
    train_batch: Batch,
    valid_batch: Batch,
    w_optimizer: torch.optim.Optimizer | None = None,
    order: int = 1,
    *,
    mode: str = "finite-difference",
    r: float = 0.01,
    reduce: Reduce | None = None,
    objective: Objective | None = None,
) -> tuple[Grads, tuple[torch.Tensor, torch.Tensor] | None]:
    """:func:`architecture_gradient`, plus the validation ``(loss, output)`` it computed.

    ``reduce`` (multi-process search, :mod:`dnas.bilevel.distributed`) averages a dict of local
    gradients over processes; it is applied where the second-order path forms a global quantity
    (``∇_w L_train`` of the virtual step, ``v = ∇_w' L_val``). The returned α gradient is still
    local: the caller averages it. ``objective`` reuses a prebuilt :class:`Objective` of ``model``.
    """
    _check(order, mode)
    f = objective if objective is not None else Objective(model, loss_fn)
    f.last_valid = None
    alpha = _leaves(f.alphas)

    if order == 1:  # ξ = 0
        val_loss = f.loss(_detached(f.w_params), alpha, valid_batch, regularize=True)
        return _alpha_grads(val_loss, alpha), f.last_valid

    if w_optimizer is None:
        raise ValueError("order=2 needs w_optimizer (the virtual step uses its lr and momentum)")
    exact = mode == "exact"
    if exact and reduce is not None:
        raise ValueError("mode='exact' is single-process only; use mode='finite-difference'")
    if exact:
        _check_twice_differentiable(f)
    w = _leaves(f.w_params)

    # eq. 6: w' = w - ξ ∇_w L_train(w, α)
    train_loss = f.loss(w, alpha if exact else _detached(alpha), train_batch)
    g_train = _global(reduce, _weight_grads(train_loss, w, create_graph=exact))
    w_prime, xi = virtual_step(w if exact else _detached(w), g_train, w_optimizer, f.w_params)

    if exact:  # eqs. 7-8 at once: differentiate L_val(w'(α), α) through the virtual step
        val_loss = f.loss(w_prime, alpha, valid_batch, regularize=True)
        return _alpha_grads(val_loss, alpha), f.last_valid

    # eq. 7: ∇_α L_val(w', α) - ∇²_{α,w} L_train(w, α) · v,   v = ξ ∇_w' L_val(w', α)
    w_prime = _leaves(w_prime)
    val_loss = f.loss(w_prime, alpha, valid_batch, regularize=True)
    d_alpha, d_w_prime = _alpha_and_weight_grads(val_loss, alpha, w_prime)
    v = _scaled(_global(reduce, d_w_prime), xi)  # v (so ε) is the same on every process
    if not v:
        return d_alpha, f.last_valid
    # eq. 8: the Hessian-vector product by a central difference at w
    hvp = _finite_difference(f, w, alpha, v, train_batch, r)
    return {k: d_alpha[k] - hvp[k] for k in alpha}, f.last_valid


def _finite_difference(
    f: Objective, w: Grads, alpha: Grads, v: Grads, batch: Batch, r: float
) -> Grads:
    """(∇_α L(w + εv, α) - ∇_α L(w - εv, α)) / 2ε with ε = r / ‖v‖ (eq. 8)."""
    # multi-tensor kernels: a per-parameter loop costs ~7 ops × ~1,400 tensors on the DARTS
    # supernet, all host-side launch time on a GPU
    v_names, v_list = list(v), list(v.values())
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(v_list)))
    eps = r / norm.clamp_min(torch.finfo(norm.dtype).tiny)

    def alpha_grad_at(sign: float) -> Grads:
        w_shift = _detached(w)
        shifted = torch._foreach_add(
            [w_shift[n] for n in v_names], torch._foreach_mul(v_list, sign * eps)
        )
        w_shift.update(zip(v_names, shifted))
        a = _leaves(alpha)
        return _alpha_grads(f.loss(w_shift, a, batch), a)

    g_plus, g_minus = alpha_grad_at(1.0), alpha_grad_at(-1.0)
    return {k: (g_plus[k] - g_minus[k]) / (2 * eps) for k in alpha}


def _scaled(grads: dict[str, torch.Tensor | None], xi: dict[str, float]) -> Grads:
    """``{n: ξ_n · g_n}`` for the parameters that moved; one multi-tensor multiply per ξ."""
    by_xi: dict[float, list[str]] = {}
    for n, g in grads.items():
        if g is not None and xi[n]:
            by_xi.setdefault(xi[n], []).append(n)
    out: Grads = {}
    for x, names in by_xi.items():
        out.update(zip(names, torch._foreach_mul([grads[n] for n in names], x)))  # type: ignore[misc]
    return out


def _global(
    reduce: Reduce | None, grads: dict[str, torch.Tensor | None]
) -> dict[str, torch.Tensor | None]:
    """``grads`` averaged over processes (multi-process search), else as they are."""
    return grads if reduce is None else reduce(grads)


def _alpha_grads(loss: torch.Tensor, alpha: Grads) -> Grads:
    """∇_α loss, zeros for labels the loss does not depend on."""
    return _alpha_and_weight_grads(loss, alpha, {})[0]


def _weight_grads(
    loss: torch.Tensor, w: Grads, create_graph: bool = False
) -> dict[str, torch.Tensor | None]:
    """∇_w loss (``None`` for weights the loss does not depend on)."""
    gs = torch.autograd.grad(loss, list(w.values()), allow_unused=True, create_graph=create_graph)
    return dict(zip(w, gs))


def _alpha_and_weight_grads(
    loss: torch.Tensor, alpha: Grads, w: Grads
) -> tuple[Grads, dict[str, torch.Tensor | None]]:
    """∇_α loss (zeros where unused) and ∇_w loss (``None`` where unused), in one backward."""
    gs = torch.autograd.grad(loss, [*alpha.values(), *w.values()], allow_unused=True)
    g_alpha = {
        k: g if g is not None else torch.zeros_like(a) for (k, a), g in zip(alpha.items(), gs)
    }
    return g_alpha, dict(zip(w, gs[len(alpha):]))


def _leaves(d: Mapping[str, torch.Tensor]) -> Grads:
    """Detached copies that require a gradient (the inputs of one differentiation)."""
    return {k: t.detach().requires_grad_(True) for k, t in d.items()}


def _detached(d: Mapping[str, torch.Tensor]) -> Grads:
    return {k: t.detach() for k, t in d.items()}


def _check(order: int, mode: str) -> None:
    if order not in (1, 2):
        raise ValueError(f"order={order!r} is not allowed; use 1 (first order) or 2 (second order)")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {MODES}")


def _check_twice_differentiable(f: Objective) -> None:
    bad = [g.label for g in f.groups.values() if not g.relaxation.twice_differentiable]
    if bad:
        raise ValueError(
            f"mode='exact' needs twice-differentiable relaxations; labels {bad} use "
            f"{f.groups[bad[0]].relaxation.name!r}; use mode='finite-difference'"
        )


__all__ = ["MODES", "architecture_gradient", "hypergradient"]
