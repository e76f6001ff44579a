"""The first forward pass of a search, checked: a shape or dtype mismatch between the data, the
model and the loss becomes one clear error instead of a trace from deep inside torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def checked_forward(
    model: nn.Module,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
) -> tuple[Any, torch.Tensor]:
    """``(model(x), loss_fn(model(x), y))``, raising ``ValueError`` that names what does not fit.

    Raises
    ------
    ValueError
        When the model rejects ``x``, the loss rejects the output and ``y``, or the loss is not a
        scalar tensor.
    """
    try:
        out = model(x)
    except (RuntimeError, TypeError, ValueError) as err:
        raise ValueError(
            f"the model cannot take the training inputs (x: {tuple(x.shape)}, {x.dtype}): {err}"
        ) from err
    try:
        loss = loss_fn(out, y)
    except (RuntimeError, TypeError, ValueError, IndexError) as err:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"loss_fn cannot compare the model output {shape} with the targets "
            f"(y: {tuple(y.shape)}, {y.dtype}): {err}"
        ) from err
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ValueError(f"loss_fn must return a scalar tensor, got {loss!r:.80}")
    return out, loss


__all__ = ["checked_forward"]
