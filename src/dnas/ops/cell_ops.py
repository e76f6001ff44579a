"""The candidate operations of the DARTS cell (Liu et al., 2019, section 3.1 and appendix A.1).

Each operation keeps the channel count ``C`` and divides the length (1-D) or height and width
(2-D) by ``stride``:

* ``Zero``: the *none* operation, an all-zero output (so an edge can be switched off);
* ``ReLUConvBN``: ReLU → convolution → BatchNorm (cell preprocessing);
* ``DilConv``: ReLU → dilated depthwise convolution → pointwise convolution → BatchNorm;
* ``SepConv``: the separable convolution of the paper, ``DilConv`` without dilation applied twice
  (the second time at stride 1);
* ``FactorizedReduce``: stride-2 reduction by two 1×1 convolutions, one on the input and one on
  the input shifted by one position, concatenated (``skip_connect`` at stride 2).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnas.ops.layers import batch_norm, check_dim, conv, factory_kwargs


class Zero(nn.Module):
    """The *none* operation: zeros shaped like the (strided) input.

    Parameters
    ----------
    stride : int
        Spatial stride; the output keeps every ``stride``-th position of each spatial axis.
    """

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = int(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return torch.zeros_like(x)
        s = self.stride
        index = (slice(None), slice(None)) + (slice(None, None, s),) * (x.dim() - 2)
        return torch.zeros_like(x[index])

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class ReLUConvBN(nn.Sequential):
    """ReLU → ``kernel_size`` convolution (no bias) → BatchNorm.

    Parameters
    ----------
    C_in, C_out : int
        Input and output channels.
    kernel_size, stride, padding : int
        Convolution geometry.
    affine : bool
        Whether BatchNorm has a learnable scale and shift (``False`` in the search network).
    dim : {1, 2}
        Spatial dimensions.
    device, dtype
        Where and in which precision the parameters are created.
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        affine: bool = True,
        dim: int = 2,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        fk = factory_kwargs(device, dtype)
        super().__init__(
            nn.ReLU(inplace=False),
            conv(dim, C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False, **fk),
            batch_norm(dim, C_out, affine=affine, **fk),
        )


class DilConv(nn.Sequential):
    """ReLU → dilated depthwise convolution → 1×1 convolution → BatchNorm.

    Parameters are those of :class:`ReLUConvBN` plus ``dilation``.
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
        dim: int = 2,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        fk = factory_kwargs(device, dtype)
        super().__init__(
            nn.ReLU(inplace=False),
            conv(dim, C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                 groups=C_in, bias=False, **fk),
            conv(dim, C_in, C_out, 1, bias=False, **fk),
            batch_norm(dim, C_out, affine=affine, **fk),
        )


class SepConv(nn.Sequential):
    """Two stacked ReLU → depthwise → pointwise → BatchNorm blocks; only the first is strided.

    Parameters are those of :class:`ReLUConvBN`.
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        affine: bool = True,
        dim: int = 2,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        kw = dict(affine=affine, dim=dim, device=device, dtype=dtype)
        super().__init__(
            DilConv(C_in, C_in, kernel_size, stride, padding, 1, **kw),
            DilConv(C_in, C_out, kernel_size, 1, padding, 1, **kw),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing positions: two 1×1 stride-2 convolutions.

    One convolution sees the even positions, the other the positions shifted by one; their outputs
    (``C_out // 2`` and ``C_out - C_out // 2`` channels) are concatenated and batch-normalised.
    The shifted input is zero-padded by one at the end of each spatial axis so that odd sizes work
    too; for even sizes the padded position is never sampled and the result equals the original
    DARTS operation.

    Parameters
    ----------
    C_in, C_out : int
        Input and output channels.
    affine : bool
        Learnable BatchNorm scale and shift.
    dim : {1, 2}
        Spatial dimensions.
    device, dtype
        Where and in which precision the parameters are created.
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        affine: bool = True,
        dim: int = 2,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if C_out < 2:
            raise ValueError(f"FactorizedReduce needs C_out >= 2, got C_out={C_out}")
        fk = factory_kwargs(device, dtype)
        self.dim = check_dim(dim)
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = conv(dim, C_in, C_out // 2, 1, stride=2, bias=False, **fk)
        self.conv_2 = conv(dim, C_in, C_out - C_out // 2, 1, stride=2, bias=False, **fk)
        self.bn = batch_norm(dim, C_out, affine=affine, **fk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        index: tuple[Any, ...] = (..., *([slice(1, None)] * self.dim))
        shifted = x[index]
        shifted = F.pad(shifted, (0, 1) * self.dim)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


__all__ = ["DilConv", "FactorizedReduce", "ReLUConvBN", "SepConv", "Zero"]
