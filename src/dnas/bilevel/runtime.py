"""Run-time defaults of a search: the device ``"auto"`` resolves to, and the default loss."""

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
                f"{tuple(target.shape)} for the mean squared error"
            )
        output = output.reshape(target.shape)
    return F.mse_loss(output, target)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is checked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a device name such as 'cpu' or 'cuda:0'"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here")
    return dev
