"""What a search watches for NaN and infinity, and what it says when one appears
(:class:`dnas.runtime.finite.FiniteGuard` with the search's quantities and their likely causes)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from dnas.bilevel.config import SearchConfig
from dnas.runtime.finite import FiniteGuard

#: the quantities, in the order a step computes them
VALID_LOSS = "validation loss"
ARCH_GRAD = "architecture gradient"
ALPHA = "α after its step"
TRAIN_LOSS = "training loss"
W_GRAD_NORM = "weight gradient norm"


def search_guard(config: SearchConfig, names: Mapping[str, str] | None = None) -> FiniteGuard:
    """The guard of a search, its messages naming ``config``'s learning rates — by the caller's
    names for them where ``names`` gives some (``{"w_lr": "learning_rate"}``: an API that takes
    its options under other names shows those)."""
    c = config
    name = {"w_lr": "w_lr", "arch_lr": "arch_lr", "arch_optimizer": "arch_optimizer",
            "grad_clip": "grad_clip", **(names or {})}
    weights = f"the weight learning rate {name['w_lr']}={c.w_lr:g} is too large for this model"
    alpha = (f"the α learning rate {name['arch_lr']}={c.arch_lr:g} ({name['arch_optimizer']}="
             f"{c.arch_optimizer!r}) is too large")
    data = "or a batch of the data holds NaN/inf"
    clip = ("" if c.grad_clip is not None else
            f" (gradient clipping is off: set {name['grad_clip']})")
    return FiniteGuard(
        "search",
        causes={
            VALID_LOSS: f"the weights or α diverged: {weights}, or {alpha}; {data}",
            ARCH_GRAD: f"the weights or α diverged: {weights}, or {alpha}; {data}",
            ALPHA: alpha,
            TRAIN_LOSS: f"the weights diverged: {weights}{clip}; {data}",
            W_GRAD_NORM: f"the gradients overflowed: {weights}{clip}; {data}",
        },
        first_step_causes={
            q: "it appears on the first batches, before any update: the data hold NaN/inf, or "
               "the model or the loss compute it (log of 0, division by 0, overflow)"
            for q in (VALID_LOSS, ARCH_GRAD, TRAIN_LOSS, W_GRAD_NORM)
        },
    )


def warn_if_alpha_frozen(config: SearchConfig, epoch: int) -> None:
    """Warn when α would never move in what is left of a run (warm-up >= epochs): legitimate
    (weights-only training), but rarely what a search means."""
    if config.warmup_epochs >= config.epochs > epoch:
        warnings.warn(
            f"warmup_epochs={config.warmup_epochs} >= epochs={config.epochs}: α never moves; the "
            "search trains the weights only and exports the initial α's choices",
            UserWarning, stacklevel=3,
        )


__all__ = ["ALPHA", "ARCH_GRAD", "TRAIN_LOSS", "VALID_LOSS", "W_GRAD_NORM", "search_guard",
           "warn_if_alpha_frozen"]
