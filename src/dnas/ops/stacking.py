"""Concatenation whose backward is one ``split``.

A packed execution runs the convolutions of several modules as one grouped convolution, whose
weight is the modules' weights stacked along the output channels, and gathers many candidate
outputs into one table. ``torch.cat`` does both, but its backward hands every input its gradient
through a separate ``narrow``: one dispatcher call per input (~1,400 per pass for the weights of
the DARTS search network alone). :func:`cat` is ``torch.cat`` whose backward is a single
``split``. It is twice differentiable (the backward is made of differentiable operations), as
the exact second-order hypergradient needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class _Cat(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, dim: int, *tensors: torch.Tensor) -> torch.Tensor:
        ctx.dim = dim
        ctx.sizes = [t.shape[dim] for t in tensors]
        return torch.cat(tensors, dim)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        return (None, *grad.split(ctx.sizes, ctx.dim))


def cat(tensors: Sequence[torch.Tensor], dim: int = 0) -> torch.Tensor:
    """``torch.cat(tensors, dim)`` with a single ``split`` as its backward.

    Parameters
    ----------
    tensors : sequence of Tensor
        Same shape but along ``dim``, same dtype and device.
    dim : int
        The dimension to concatenate along.

    Returns
    -------
    Tensor
    """
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    if len(tensors) == 1:
        return tensors[0]
    if not any(t.requires_grad for t in tensors):
        return torch.cat(list(tensors), dim)
    return _Cat.apply(dim % tensors[0].dim(), *tensors)


__all__ = ["cat"]
