"""Architecture gradients of the bilevel problem (Liu et al., 2019, DARTS eqs. 6-8).

    min_α L_val(w*(α), α)   s.t.   w*(α) = argmin_w L_train(w, α)

First order (ξ = 0):           ∇_α L_val(w, α)
Second order, eq. 6:           ∇_α L_val(w', α),   w' = w - ξ ∇_w L_train(w, α)   (one SGD step)
eq. 7 (chain rule):            ∇_α L_val(w', α) - ξ ∇²_{α,w} L_train(w, α) · ∇_w' L_val(w', α)
eq. 8 (finite differences):    ∇²_{α,w} L_train(w, α) · v
                                   ≈ (∇_α L_train(w⁺, α) - ∇_α L_train(w⁻, α)) / 2ε,
                               w± = w ± ε v,  ε = 0.01 / ‖v‖        (evaluated at w, not at w')

The virtual step is the weight optimiser's own step: its per-group learning rate, momentum buffer,
dampening, Nesterov flag and weight decay (torch.optim.SGD semantics). Everything is functional
(``torch.func.functional_call`` over dicts of tensors): the model is never copied, no ``.data`` is
edited, and buffers (BatchNorm running statistics) are passed as clones, so no pass made here
changes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from dnas.space.binding import arch_groups, named_arch_parameters, named_weight_parameters

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

MODES = ("finite-difference", "exact")


@dataclass(frozen=True)
class _StepRule:
    """How one parameter moves in the optimiser's next step: ``w' = w - lr·(k·g + c)``.

    ``k`` is the coefficient on the fresh gradient (so ∂w'/∂α = -lr·k·∂g/∂α) and ``c`` collects the
    terms that do not depend on α (momentum history, weight decay).
    """

    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool


def _step_rules(optimizer: torch.optim.Optimizer) -> dict[int, _StepRule]:
    if not isinstance(optimizer, torch.optim.SGD):
        raise ValueError(
            f"w_optimizer is a {type(optimizer).__name__}; the second-order virtual step follows "
            "torch.optim.SGD (lr, momentum, dampening, nesterov, weight_decay); use SGD or order=1"
        )
    rules: dict[int, _StepRule] = {}
    for group in optimizer.param_groups:
        if group.get("maximize", False):
            raise ValueError("w_optimizer has maximize=True, which the virtual step does not model")
        lr = group["lr"]
        rule = _StepRule(
            lr=float(lr.item() if torch.is_tensor(lr) else lr),
            momentum=float(group.get("momentum", 0.0)),
            dampening=float(group.get("dampening", 0.0)),
            weight_decay=float(group.get("weight_decay", 0.0)),
            nesterov=bool(group.get("nesterov", False)),
        )
        for p in group["params"]:
            rules[id(p)] = rule
    return rules


def virtual_step(
    w: dict[str, torch.Tensor],
    grads: dict[str, torch.Tensor | None],
    optimizer: torch.optim.Optimizer,
    params: dict[str, nn.Parameter],
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """One step of ``optimizer`` (SGD) applied functionally: returns ``w'`` and ``lr·k`` per name.

    Per parameter, with d = g + λw (torch.optim.SGD's order of operations):

        buf' = d                         (first step: no momentum buffer yet)
        buf' = μ·buf + (1 - τ)·d         (later steps; τ = dampening)
        w'   = w - lr·(d + μ·buf')       (Nesterov)   or   w' = w - lr·buf'

    ``grads`` may carry a graph (exact mode), in which case ``w'`` is differentiable in α. A
    parameter with no gradient or outside the optimiser does not move, as in ``optimizer.step()``.
    Parameters sharing a rule are updated with multi-tensor (foreach) kernels: a loop of ~6 ops
    per parameter costs tens of thousands of kernel launches on a DARTS supernet.
    """
    rules = _step_rules(optimizer)
    new_w: dict[str, torch.Tensor] = dict(w)
    scale: dict[str, float] = dict.fromkeys(w, 0.0)
    groups: dict[tuple[_StepRule, bool], list[str]] = {}
    for name in w:
        rule = rules.get(id(params[name]))
        if grads.get(name) is None or rule is None:
            continue  # does not move
        has_buf = bool(rule.momentum) and "momentum_buffer" in optimizer.state.get(params[name], {})
        groups.setdefault((rule, has_buf), []).append(name)
    for (rule, has_buf), names in groups.items():
        values = [w[n] for n in names]
        d = [grads[n] for n in names]
        if rule.weight_decay:
            d = torch._foreach_add(d, values, alpha=rule.weight_decay)
        k = 1.0
        if rule.momentum:
            if has_buf:
                bufs = [optimizer.state[params[n]]["momentum_buffer"] for n in names]
                buf_new = torch._foreach_add(
                    torch._foreach_mul(bufs, rule.momentum), d, alpha=1.0 - rule.dampening
                )
                k = 1.0 - rule.dampening
            else:
                buf_new = d
            if rule.nesterov:
                d = torch._foreach_add(d, buf_new, alpha=rule.momentum)
                k = 1.0 + rule.momentum * k
            else:
                d = buf_new
        new_w.update(zip(names, torch._foreach_add(values, d, alpha=-rule.lr)))
        scale.update(dict.fromkeys(names, rule.lr * k))
    return new_w, scale


class Objective:
    """L(w, α) on one batch, as a pure function of dicts of tensors.

    Built once per model (the search loop keeps one): it resolves parameter names, labels and
    buffers up front so that a step does no module-tree walks.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.groups = arch_groups(model)
        named_alpha = named_arch_parameters(model)
        self.labels = list(named_alpha)
        self.alpha_names = {label: named_alpha[label][0] for label in self.labels}
        self.alphas = {label: named_alpha[label][1] for label in self.labels}
        self.w_params = {n: p for n, p in named_weight_parameters(model).items() if p.requires_grad}
        self.buffers = dict(model.named_buffers())
        self._buffer_groups = _clone_groups(list(self.buffers.values()))
        self._aliases = tied_slots(model)
        self.last_valid: tuple[torch.Tensor, torch.Tensor] | None = None  # (loss, output), detached

    def loss(self, w: dict, alpha: dict, batch: Batch, regularize: bool = False) -> torch.Tensor:
        x, y = batch
        # buffers go in as clones: BatchNorm updates its running statistics in the clones only
        state: dict[str, torch.Tensor] = dict(zip(self.buffers, self._clone_buffers()))
        state.update(w)
        state.update({self.alpha_names[k]: a for k, a in alpha.items()})
        for name, others in self._aliases.items():  # tied tensors: every slot gets the value
            if name in state:
                state.update(dict.fromkeys(others, state[name]))
        # tie_weights=False: each (module, attribute) slot is swapped exactly once. With torch's
        # default (True) a module registered under several paths (the ArchParams every choice of a
        # label shares) is swapped once per path, and restoring in the same order leaves the
        # module holding the substituted tensor instead of its Parameter.
        out = functional_call(self.model, state, (x,), tie_weights=False)
        loss = self.loss_fn(out, y)
        if regularize:
            self.last_valid = (loss.detach(), _detach_output(out))
            for label, a in alpha.items():
                group = self.groups[label]
                r = group.relaxation.regularizer(a, group)
                if r is not None:
                    loss = loss + r
        return loss

    def _clone_buffers(self) -> list[torch.Tensor]:
        # One multi-tensor kernel per (device, dtype) instead of one clone per buffer: the DARTS
        # supernet has ~2,800 BatchNorm buffers, and on a GPU their clones were ~10% of a
        # first-order α step, all of it kernel launches. x * 1 is an exact copy (ints too).
        tensors = list(self.buffers.values())
        out: list[torch.Tensor] = [None] * len(tensors)  # type: ignore[list-item]
        for indices in self._buffer_groups:
            if len(indices) == 1:
                out[indices[0]] = tensors[indices[0]].clone()
                continue
            for i, t in zip(indices, torch._foreach_mul([tensors[i] for i in indices], 1)):
                out[i] = t
        return out


def tied_slots(model: nn.Module) -> dict[str, list[str]]:
    """Names of the tensors held in more than one module slot, and their other slots.

    A *slot* is one ``(module, attribute)`` pair. A module registered under several paths (a shared
    :class:`~dnas.space.modules.ArchParams`) is one slot seen under many names: it is left out.
    A tensor held by two different modules (tied weights) fills two slots: the first name
    (the one ``named_parameters()`` / ``named_buffers()`` report) maps to the others.
    """
    first: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    others: dict[str, list[str]] = {}
    for prefix, module in model.named_modules(remove_duplicate=False):
        for attr, t in (*module._parameters.items(), *module._buffers.items()):
            if t is None or (id(module), attr) in seen:
                continue
            seen.add((id(module), attr))
            name = f"{prefix}.{attr}" if prefix else attr
            canonical = first.setdefault(id(t), name)
            if canonical != name:
                others.setdefault(canonical, []).append(name)
    return others


def _clone_groups(tensors: list[torch.Tensor]) -> list[list[int]]:
    """Indices of ``tensors`` grouped by (device, dtype); bool and other kinds alone."""
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tensors):
        numeric = (t.is_floating_point() or t.is_complex() or t.dtype in _INT_DTYPES) and not (
            t.requires_grad or t.is_sparse or t.is_quantized
        )
        key = (t.device, t.dtype) if numeric else ("alone", i)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _detach_output(out):
    if isinstance(out, torch.Tensor):
        return out.detach()
    return type(out)(_detach_output(o) for o in out) if isinstance(out, (tuple, list)) else out


def _grad(loss, inputs: dict, create_graph: bool = False) -> dict[str, torch.Tensor | None]:
    keys = list(inputs)
    gs = torch.autograd.grad(
        loss, [inputs[k] for k in keys], allow_unused=True, create_graph=create_graph
    )
    return dict(zip(keys, gs))


def _zeros_for_none(grads: dict, like: dict) -> dict[str, torch.Tensor]:
    return {k: (g if g is not None else torch.zeros_like(like[k])) for k, g in grads.items()}


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
    reduce: Callable[[dict], dict] | None = None,
    objective: Objective | None = None,
) -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor] | None]:
    """:func:`architecture_gradient`, plus the validation ``(loss, output)`` it computed.

    ``reduce`` (multi-process search, :mod:`dnas.bilevel.distributed`) averages a dict of local
    gradients over processes; it is applied where the second-order path forms a global quantity
    (``∇_w L_train`` of the virtual step, ``v = ∇_w' L_val``). The returned α gradient is still
    local: the caller averages it. ``objective`` reuses a prebuilt :class:`Objective` of ``model``.
    """
    if order not in (1, 2):
        raise ValueError(f"order={order!r} is not allowed; use 1 (first order) or 2 (second order)")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {MODES}")
    f = objective if objective is not None else Objective(model, loss_fn)
    f.last_valid = None
    alpha = {k: a.detach().requires_grad_(True) for k, a in f.alphas.items()}
    w = {n: p.detach().requires_grad_(True) for n, p in f.w_params.items()}

    if order == 1:
        loss = f.loss({n: p.detach() for n, p in f.w_params.items()}, alpha, valid_batch, True)
        return _zeros_for_none(_grad(loss, alpha), alpha), f.last_valid

    if w_optimizer is None:
        raise ValueError("order=2 needs w_optimizer (the virtual step uses its lr and momentum)")
    exact = mode == "exact"
    if exact and reduce is not None:
        raise ValueError("mode='exact' is single-process only; use mode='finite-difference'")
    if exact:
        bad = [g.label for g in f.groups.values() if not g.relaxation.twice_differentiable]
        if bad:
            raise ValueError(
                f"mode='exact' needs twice-differentiable relaxations; labels {bad} use "
                f"{f.groups[bad[0]].relaxation.name!r}; use mode='finite-difference'"
            )

    # eq. 6: the virtual step w' = w - ξ ∇_w L_train(w, α)
    train_loss = f.loss(w, alpha if exact else _detached(alpha), train_batch)
    g_train = _grad(train_loss, w, create_graph=exact)
    if reduce is not None:
        g_train = reduce(g_train)
    w_prime, scale = virtual_step(w if exact else _detached(w), g_train, w_optimizer, f.w_params)

    if exact:
        val_loss = f.loss(w_prime, alpha, valid_batch, True)
        return _zeros_for_none(_grad(val_loss, alpha), alpha), f.last_valid

    # ∇_α L_val(w', α) and ∇_w' L_val(w', α)
    w_prime = {n: t.detach().requires_grad_(True) for n, t in w_prime.items()}
    val_loss = f.loss(w_prime, alpha, valid_batch, True)
    grads = _grad(val_loss, {**alpha, **{("w", n): t for n, t in w_prime.items()}})
    if reduce is not None:  # v (and so ε) must be the same on every process
        grads.update(reduce({k: g for k, g in grads.items() if isinstance(k, tuple)}))
    d_alpha = _zeros_for_none({k: grads[k] for k in alpha}, alpha)
    # v = ξ·k·∇_w' L_val (per parameter), so eq. 7's correction is ∇²_{α,w} L_train · v
    by_scale: dict[float, list[str]] = {}
    for n in w:
        if grads[("w", n)] is not None and scale[n]:
            by_scale.setdefault(scale[n], []).append(n)
    v: dict[str, torch.Tensor] = {}
    for xi, names in by_scale.items():  # one multi-tensor multiply per distinct step size
        v.update(zip(names, torch._foreach_mul([grads[("w", n)] for n in names], xi)))
    if not v:
        return d_alpha, f.last_valid
    # multi-tensor kernels: a per-parameter loop costs ~7 ops × ~1,400 tensors on the DARTS
    # supernet, all host-side launch time on a GPU
    v_names, v_list = list(v), list(v.values())
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(v_list)))
    eps = r / norm.clamp_min(torch.finfo(norm.dtype).tiny)

    # eq. 8: central difference at w (not w')
    def alpha_grad_at(sign: float) -> dict[str, torch.Tensor]:
        w_shift = {n: p.detach() for n, p in w.items()}
        shifted = torch._foreach_add(
            [w_shift[n] for n in v_names], torch._foreach_mul(v_list, sign * eps)
        )
        w_shift.update(zip(v_names, shifted))
        a = {k: t.detach().requires_grad_(True) for k, t in alpha.items()}
        return _zeros_for_none(_grad(f.loss(w_shift, a, train_batch), a), a)

    g_plus, g_minus = alpha_grad_at(1.0), alpha_grad_at(-1.0)
    return {k: d_alpha[k] - (g_plus[k] - g_minus[k]) / (2 * eps) for k in alpha}, f.last_valid


def _detached(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: t.detach() for k, t in d.items()}
