"""What a retraining watches for NaN and infinity, and what it says when one appears
(:class:`dnas.runtime.finite.FiniteGuard` with the retraining's quantities and likely causes)."""

from __future__ import annotations

from dnas.runtime.finite import FiniteGuard
from dnas.train.config import RetrainConfig


def retrain_guard(config: RetrainConfig) -> FiniteGuard:
    """The guard of a retraining, its messages naming ``config``'s learning rate."""
    weights = f"the learning rate lr={config.lr:g} is too large for this model"
    clip = "" if config.grad_clip is not None else " (gradient clipping is off: set grad_clip)"
    first = ("it appears on the first batch, before any update: the model or the loss compute it "
             "(overflow, log of 0)")
    return FiniteGuard(
        "retraining",
        causes={"training loss": f"the weights diverged: {weights}{clip}",
                "gradient norm": f"the gradients overflowed: {weights}{clip}",
                "test loss": "every training step was finite, so the model overflows on the "
                             f"test data, or the weights grew too large ({weights})"},
        first_step_causes={"training loss": first, "gradient norm": first},
    )


__all__ = ["retrain_guard"]
