"""Accelerator options shared by search and retraining: bf16 autocast, channels-last, compile.

All three are off on CPU by default: bf16 autocast on a CPU is slower than float32 for these small
convolutions, channels-last only pays on tensor-core GPUs, and compilation costs more than it saves
in short runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from dnas.runtime.checks import check_choice

#: values of the ``amp`` option
AMP_CHOICES = ("auto", "bf16", "off")


def resolve_amp(amp: str, device: torch.device, order: int = 1) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``: bf16 or None (float32).

    ``"auto"`` is bf16 on CUDA devices that support it and float32 elsewhere, and float32 for a
    second-order search, whose finite-difference Hessian-vector product (a difference of two
    gradients taken ε apart, DARTS eq. 8) drowns in bf16 rounding. ``"bf16"`` asks for it anywhere
    torch can autocast to bf16 (CPU included); ``"off"`` is float32.
    """
    if amp == "off":
        return None
    if amp == "auto":
        if order == 1 and device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None
    check_choice("amp", amp, AMP_CHOICES)
    return torch.bfloat16


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """``torch.autocast`` to ``dtype`` on ``device``'s type, or nothing when ``dtype`` is None."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def to_channels_last(model: nn.Module, dim: int) -> nn.Module:
    """Store 2-D convolution weights channels-last (no-op for 1-D models); activations follow."""
    if dim == 2:
        # a documented keyword of Module.to that torch's type stubs leave out
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


def compile_forward(model: nn.Module) -> nn.Module:
    """Compile ``model``'s forward in place (``nn.Module.compile``): parameter names, state dicts
    and ``torch.func.functional_call`` keep working, unlike with a wrapping ``OptimizedModule``."""
    model.compile()
    return model
