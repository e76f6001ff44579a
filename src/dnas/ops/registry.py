"""Registry of cell operations by name: ``create_op(name, C, stride, affine, dim)``.

The eight DARTS primitives (Liu et al., 2019, section 3.1) are registered here, plus
``sep_conv_7x7`` (used by NASNet-style genotypes). A factory has the signature
``factory(C, stride, affine, dim, device=None, dtype=None) -> nn.Module`` and must map
``(B, C, *S)`` to ``(B, C, *ceil(S / stride))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from dnas.ops.cell_ops import DilConv, FactorizedReduce, SepConv, Zero
from dnas.ops.layers import avg_pool, check_dim, max_pool

OpFactory = Callable[..., nn.Module]

_OPS: dict[str, OpFactory] = {}


def register_op(name: str) -> Callable[[OpFactory], OpFactory]:
    """Decorator: make ``factory`` available as ``create_op(name, ...)``."""

    def deco(factory: OpFactory) -> OpFactory:
        if name in _OPS:
            raise ValueError(f"operation {name!r} is registered twice")
        _OPS[name] = factory
        return factory

    return deco


def op_names() -> list[str]:
    """Names of every registered operation, in registration order."""
    return list(_OPS)


def create_op(
    name: str,
    C: int,
    stride: int = 1,
    affine: bool = True,
    dim: int = 2,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """Build the operation ``name`` for ``C`` channels.

    Parameters
    ----------
    name : str
        A name from :func:`op_names`.
    C : int
        Channels in and out.
    stride : {1, 2}
        Spatial stride (2 in the edges of a reduction cell that read the cell inputs).
    affine : bool
        Learnable BatchNorm scale and shift (``False`` while searching, ``True`` when retraining).
    dim : {1, 2}
        Spatial dimensions: 1 for ``(B, C, L)`` sequences, 2 for ``(B, C, H, W)`` images.
    device, dtype
        Where and in which precision the parameters are created.
    """
    if not isinstance(name, str) or name not in _OPS:
        raise ValueError(f"unknown operation {name!r}; registered operations: {op_names()}")
    if isinstance(C, bool) or not isinstance(C, int) or C < 1:
        raise ValueError(f"C={C!r} must be a positive integer (channels)")
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"stride={stride!r} is not supported; use 1 or 2")
    check_dim(dim)
    return _OPS[name](C, stride, bool(affine), dim, device=device, dtype=dtype)


@register_op("none")
def _none(C: int, stride: int, affine: bool, dim: int, **fk: Any) -> nn.Module:
    return Zero(stride)


@register_op("max_pool_3x3")
def _max_pool(C: int, stride: int, affine: bool, dim: int, **fk: Any) -> nn.Module:
    return max_pool(dim, 3, stride=stride, padding=1)


@register_op("avg_pool_3x3")
def _avg_pool(C: int, stride: int, affine: bool, dim: int, **fk: Any) -> nn.Module:
    # border windows average over real positions only, as in DARTS
    return avg_pool(dim, 3, stride=stride, padding=1, count_include_pad=False)


@register_op("skip_connect")
def _skip(C: int, stride: int, affine: bool, dim: int, **fk: Any) -> nn.Module:
    if stride == 1:
        return nn.Identity()
    return FactorizedReduce(C, C, affine=affine, dim=dim, **fk)


def _sep(kernel: int) -> OpFactory:
    def factory(C: int, stride: int, affine: bool, dim: int, **fk: Any) -> nn.Module:
        return SepConv(C, C, kernel, stride, kernel // 2, affine=affine, dim=dim, **fk)

    return factory


def _dil(kernel: int) -> OpFactory:
    # dilation 2: a 3x3 kernel sees 5x5, a 5x5 kernel sees 9x9; padding keeps the size
    def factory(C: int, stride: int, affine: bool, dim: int, **fk: Any) -> nn.Module:
        return DilConv(C, C, kernel, stride, kernel - 1, 2, affine=affine, dim=dim, **fk)

    return factory


register_op("sep_conv_3x3")(_sep(3))
register_op("sep_conv_5x5")(_sep(5))
register_op("dil_conv_3x3")(_dil(3))
register_op("dil_conv_5x5")(_dil(5))
register_op("sep_conv_7x7")(_sep(7))

__all__ = ["OpFactory", "create_op", "op_names", "register_op"]
