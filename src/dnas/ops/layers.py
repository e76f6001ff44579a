"""Dimension-generic layer constructors: one spelling for 1-D (sequences) and 2-D (images).

Every cell operation is written once against these helpers, so the DARTS space for MNIST-1D and
the one for CIFAR-10 are the same code with ``dim=1`` or ``dim=2``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

DIMS = (1, 2)


def check_dim(dim: Any) -> int:
    """Return ``dim`` if it is 1 or 2, else raise ``ValueError`` naming it."""
    if isinstance(dim, bool) or dim not in DIMS:
        raise ValueError(f"dim={dim!r} is not supported; use 1 (sequences) or 2 (images)")
    return int(dim)


def factory_kwargs(
    device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> dict[str, Any]:
    """``{"device": ..., "dtype": ...}`` for layer constructors (``None`` entries left out)."""
    out: dict[str, Any] = {}
    if device is not None:
        out["device"] = device
    if dtype is not None:
        out["dtype"] = dtype
    return out


def check_input(x: torch.Tensor, dim: int, in_channels: int) -> None:
    """Refuse an input that a ``dim``-D network of ``in_channels`` channels cannot read, naming
    its shape. Checked eagerly only: a trace (TorchScript export) records the shapes it was
    given."""
    if not torch.jit.is_tracing() and (x.dim() != dim + 2 or x.shape[1] != in_channels):
        want = "(B, C, L)" if dim == 1 else "(B, C, H, W)"
        raise ValueError(f"input of shape {tuple(x.shape)} does not fit this dim={dim} network: "
                         f"expected {want} with C={in_channels}")


def conv(dim: int, *args: Any, **kwargs: Any) -> nn.Module:
    """``nn.Conv1d`` or ``nn.Conv2d`` with the given arguments."""
    return (nn.Conv1d, nn.Conv2d)[check_dim(dim) - 1](*args, **kwargs)


def batch_norm(dim: int, *args: Any, **kwargs: Any) -> nn.Module:
    """``nn.BatchNorm1d`` or ``nn.BatchNorm2d`` with the given arguments."""
    return (nn.BatchNorm1d, nn.BatchNorm2d)[check_dim(dim) - 1](*args, **kwargs)


def max_pool(dim: int, *args: Any, **kwargs: Any) -> nn.Module:
    """``nn.MaxPool1d`` or ``nn.MaxPool2d`` with the given arguments."""
    return (nn.MaxPool1d, nn.MaxPool2d)[check_dim(dim) - 1](*args, **kwargs)


def avg_pool(dim: int, *args: Any, **kwargs: Any) -> nn.Module:
    """``nn.AvgPool1d`` or ``nn.AvgPool2d`` with the given arguments."""
    return (nn.AvgPool1d, nn.AvgPool2d)[check_dim(dim) - 1](*args, **kwargs)


def global_avg_pool(dim: int) -> nn.Module:
    """Adaptive average pooling to one position (``(B, C, 1)`` or ``(B, C, 1, 1)``)."""
    return (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)[check_dim(dim) - 1](1)



def stem(dim: int, in_channels: int, channels: int) -> nn.Module:
    """The DARTS stem: 3-wide convolution to ``channels`` (no bias) followed by BatchNorm."""
    return nn.Sequential(
        conv(dim, in_channels, channels, 3, padding=1, bias=False), batch_norm(dim, channels)
    )


__all__ = [
    "DIMS",
    "avg_pool",
    "batch_norm",
    "check_dim",
    "check_input",
    "conv",
    "factory_kwargs",
    "global_avg_pool",
    "max_pool",
    "stem",
]
