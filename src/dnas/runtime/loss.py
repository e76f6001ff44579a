"""The default loss of a search: cross-entropy for class labels, mean squared error otherwise."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def default_loss(output: Any, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for integer targets, mean squared error otherwise.

    A tuple output (logits, auxiliary logits) uses its first element.
    """
    if isinstance(output, (tuple, list)):
        output = output[0]
    if not target.is_floating_point():
        return F.cross_entropy(output, target)
    if output.shape != target.shape:
        if output.numel() != target.numel():  # mse_loss would broadcast silently
            raise ValueError(
                f"output shape {tuple(output.shape)} does not match target shape "
                f"{tuple(target.shape)} for the mean squared error (floating targets mean "
                "regression; class labels must be integers)"
            )
        output = output.reshape(target.shape)
    return F.mse_loss(output, target)


__all__ = ["default_loss"]
