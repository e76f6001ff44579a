"""The optimisers of a search, as DARTS sets them up (Liu et al., 2019, section 3.1.1).

w: SGD with momentum and weight decay, its learning rate cosine-annealed per epoch from ``w_lr`` to
``w_lr_min``. α: Adam (or SGD) with its own learning rate and weight decay, plus an optional
per-candidate decay ``base + df · (parameter count of the candidate)`` (AutoRA's architect) that
pulls the logits of expensive candidates towards 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from dnas.bilevel.config import SearchConfig
from dnas.space.binding import ArchParams


def weight_optimizer(
    params: Sequence[nn.Parameter], config: SearchConfig
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.CosineAnnealingLR]:
    """SGD over ``params`` and its cosine schedule (stepped once per epoch)."""
    # foreach: multi-tensor updates also on CPU (torch picks the per-tensor loop there)
    optimizer = torch.optim.SGD(
        params, lr=config.w_lr, momentum=config.w_momentum,
        weight_decay=config.w_weight_decay, foreach=True,
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(config.epochs, 1), eta_min=config.w_lr_min
    )
    return optimizer, schedule


def arch_optimizer(alphas: Sequence[torch.Tensor], config: SearchConfig) -> torch.optim.Optimizer:
    """Adam (DARTS) or SGD over the architecture parameters."""
    if config.arch_optimizer == "adam":
        return torch.optim.Adam(
            alphas, lr=config.arch_lr, betas=config.arch_betas,
            weight_decay=config.arch_weight_decay,
        )
    return torch.optim.SGD(
        alphas, lr=config.arch_lr, momentum=config.arch_momentum,
        weight_decay=config.arch_weight_decay,
    )


def size_decay(groups: Iterable[ArchParams], config: SearchConfig) -> list[torch.Tensor] | None:
    """Per-candidate α decay ``base + df · #parameters`` for each group; None when both are 0."""
    if not (config.arch_weight_decay_df or config.arch_weight_decay_base):
        return None
    return [
        config.arch_weight_decay_base
        + config.arch_weight_decay_df
        * torch.tensor(g.candidate_sizes, dtype=g.alpha.dtype, device=g.alpha.device)
        for g in groups
    ]


def step_alphas(
    optimizer: torch.optim.Optimizer,
    groups: Sequence[ArchParams],
    grads: Sequence[torch.Tensor],
    decay: Sequence[torch.Tensor] | None,
    rescaling: Sequence[ArchParams] = (),
) -> list[torch.Tensor]:
    """One α update from ``grads`` (one per group, in order): the per-candidate ``decay`` added,
    the optimiser stepped, then each group of ``rescaling`` (those whose relaxation rescales
    after a step: binary gates) given its α from before. Returns the applied gradients,
    flattened."""
    applied = []
    for i, (group, g) in enumerate(zip(groups, grads)):
        if decay is not None:
            g = g + decay[i] * group.alpha.detach()
        group.alpha.grad = g
        applied.append(g.reshape(-1))
    before = [g.alpha.detach().clone() for g in rescaling]
    optimizer.step()
    for group, a0 in zip(rescaling, before):
        group.relaxation.after_arch_step(group, a0)
    return applied


def clip_or_norm(params: Sequence[nn.Parameter], clip: float | None) -> torch.Tensor | None:
    """The total gradient norm of ``params`` (None when none has a gradient), the gradients
    clipped to ``clip`` first when given (clipping computes the norm anyway)."""
    if clip is not None:
        return nn.utils.clip_grad_norm_(params, clip)
    grads = [p.grad for p in params if p.grad is not None]
    return nn.utils.get_total_norm(grads) if grads else None


__all__ = ["arch_optimizer", "clip_or_norm", "size_decay", "step_alphas", "weight_optimizer"]
