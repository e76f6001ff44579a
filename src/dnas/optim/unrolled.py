"""The virtual step of second-order DARTS (Liu et al., 2019, eq. 6), for the real optimiser.

    w' = w - ξ ∇_w L_train(w, α)

DARTS unrolls one step of the weight optimiser. Here that step is the optimiser's own: its
per-group learning rate, momentum buffer, dampening, Nesterov flag and weight decay
(``torch.optim.SGD`` semantics), applied functionally to a dict of tensors. It also reports, per
parameter, the coefficient ξ = lr·k by which the fresh gradient enters w' (∂w'/∂α =
-ξ ∂²L_train/∂w∂α), which eq. 7 multiplies into ∇_w' L_val.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

Tensors = list[torch.Tensor] | tuple[torch.Tensor, ...]  # what the foreach kernels take and give


@dataclass(frozen=True)
class StepRule:
    """How one parameter moves in the optimiser's next step: ``w' = w - lr·(k·g + c)``.

    ``k`` is the coefficient on the fresh gradient (so ∂w'/∂α = -lr·k·∂g/∂α) and ``c`` collects the
    terms that do not depend on α (momentum history, weight decay).
    """

    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool


def step_rules(optimizer: torch.optim.Optimizer) -> dict[int, StepRule]:
    """``{id(parameter): StepRule}`` for every parameter of an SGD optimiser."""
    if not isinstance(optimizer, torch.optim.SGD):
        raise ValueError(
            f"w_optimizer is a {type(optimizer).__name__}; the second-order virtual step follows "
            "torch.optim.SGD (lr, momentum, dampening, nesterov, weight_decay); use SGD or order=1"
        )
    rules: dict[int, StepRule] = {}
    for group in optimizer.param_groups:
        if group.get("maximize", False):
            raise ValueError("w_optimizer has maximize=True, which the virtual step does not model")
        lr = group["lr"]
        rule = StepRule(
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
    """One SGD step of ``optimizer`` applied functionally: ``w'`` and ξ = ``lr·k`` per name.

    Per parameter, with d = g + λw (torch.optim.SGD's order of operations):

        buf' = d                         (first step: no momentum buffer yet)
        buf' = μ·buf + (1 - τ)·d         (later steps; τ = dampening)
        w'   = w - lr·(d + μ·buf')       (Nesterov)   or   w' = w - lr·buf'

    ``grads`` may carry a graph (exact mode), in which case ``w'`` is differentiable in α. A
    parameter with no gradient or outside the optimiser does not move, as in ``optimizer.step()``.
    """
    rules = step_rules(optimizer)
    new_w: dict[str, torch.Tensor] = dict(w)
    xi: dict[str, float] = dict.fromkeys(w, 0.0)
    for (rule, has_buf), names in _same_rule(w, grads, optimizer, params, rules).items():
        bufs = [optimizer.state[params[n]]["momentum_buffer"] for n in names] if has_buf else None
        g = [grads[n] for n in names]  # not None: _same_rule keeps the parameters that move
        moved, k = _sgd_step(rule, [w[n] for n in names], g, bufs)  # type: ignore[arg-type]
        new_w.update(zip(names, moved))
        xi.update(dict.fromkeys(names, rule.lr * k))
    return new_w, xi


def _same_rule(
    w: dict[str, torch.Tensor],
    grads: dict[str, torch.Tensor | None],
    optimizer: torch.optim.Optimizer,
    params: dict[str, nn.Parameter],
    rules: dict[int, StepRule],
) -> dict[tuple[StepRule, bool], list[str]]:
    """Names of the parameters that move, grouped by (rule, has a momentum buffer).

    Each group is updated with multi-tensor (foreach) kernels: a loop of ~6 ops per parameter
    costs tens of thousands of kernel launches on a DARTS supernet.
    """
    groups: dict[tuple[StepRule, bool], list[str]] = {}
    for name in w:
        rule = rules.get(id(params[name]))
        if grads.get(name) is None or rule is None:
            continue  # does not move
        has_buf = bool(rule.momentum) and "momentum_buffer" in optimizer.state.get(params[name], {})
        groups.setdefault((rule, has_buf), []).append(name)
    return groups


def _sgd_step(
    rule: StepRule,
    values: list[torch.Tensor],
    grads: list[torch.Tensor],
    bufs: list[torch.Tensor] | None,
) -> tuple[Tensors, float]:
    """torch.optim.SGD's update of ``values`` (one rule), and the coefficient k on the gradient."""
    d: Tensors = grads
    if rule.weight_decay:
        d = torch._foreach_add(d, values, alpha=rule.weight_decay)
    k = 1.0
    if rule.momentum:
        if bufs is not None:
            buf_new: Tensors = torch._foreach_add(
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
    return torch._foreach_add(values, d, alpha=-rule.lr), k


__all__ = ["StepRule", "step_rules", "virtual_step"]
