"""The inverted residual block (MBConv) of MobileNetV2 (Sandler et al., 2018, table 1), with
searchable widths, kernel size and expansion ratio, as in ProxylessNAS' and FBNet's spaces.

    h = act(BN(conv1×1(x)))            in_channels -> in_channels · expansion   (expand)
    h = act(BN(dwconv_k×k(h, stride)))  depthwise
    y = BN(conv1×1(h))                 -> out_channels                         (project, linear)
    y = y + x                          when stride == 1 and in_channels is out_channels

Every layer is a :mod:`dnas.nn` layer, so the expansion ratio is a choice of the hidden width
(``in_channels * expansion``, a product of two choices when the input width is searched too) and
the kernel size a choice of the depthwise kernel. The activation must map 0 to 0 (ReLU, ReLU6,
SiLU, Hardswish, GELU, ...) so that unchosen channels stay zero.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dnas.nn.conv import Conv1d, Conv2d
from dnas.nn.norm import BatchNorm1d, BatchNorm2d
from dnas.space.value import Size, check_size, is_choice

_LAYERS = {1: (Conv1d, BatchNorm1d), 2: (Conv2d, BatchNorm2d)}


class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual block with searchable sizes.

    Parameters
    ----------
    in_channels, out_channels : int or Size
        Input and output widths (pass the previous block's ``out_channels`` object).
    kernel_size : int or Size, default 3
        Depthwise kernel size (odd values when it is a choice).
    expansion : int or Size, default 6
        Hidden width = ``in_channels * expansion``; the int 1 drops the expansion convolution.
    stride : int, default 1
    dim : {1, 2}, default 2
        Spatial dimensions.
    activation : callable returning nn.Module, default nn.ReLU6
        Must map 0 to 0.
    device, dtype
        Where and how the weights are allocated.
    """

    def __init__(
        self,
        in_channels: Size,
        out_channels: Size,
        kernel_size: Size = 3,
        expansion: Size = 6,
        stride: int = 1,
        *,
        dim: int = 2,
        activation: Callable[[], nn.Module] = nn.ReLU6,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if dim not in _LAYERS:
            raise ValueError(f"dim={dim!r} is not supported; use 1 (sequences) or 2 (images)")
        check_size("expansion", expansion)
        conv, norm = _LAYERS[dim]
        # a plain dict: sizes that are choices must not become submodules here (the layers
        # register them)
        self.sizes: dict[str, Size] = {"in_channels": in_channels, "out_channels": out_channels,
                                       "kernel_size": kernel_size, "expansion": expansion}
        self.stride = stride
        expand = is_choice(expansion) or expansion != 1
        hidden: Size = in_channels * expansion if expand else in_channels
        layers: list[nn.Module] = []
        d, t = device, dtype
        if expand:
            layers += [conv(in_channels, hidden, 1, bias=False, device=d, dtype=t),
                       norm(hidden, device=d, dtype=t), activation()]
        layers += [
            conv(hidden, hidden, kernel_size, stride, groups=hidden, bias=False, device=d,
                 dtype=t),
            norm(hidden, device=d, dtype=t), activation(),
            conv(hidden, out_channels, 1, bias=False, device=d, dtype=t),
            norm(out_channels, device=d, dtype=t),
        ]
        self.layers = nn.Sequential(*layers)
        same_width = in_channels is out_channels or (
            not is_choice(in_channels) and not is_choice(out_channels)
            and in_channels == out_channels
        )
        self.residual = stride == 1 and same_width
        if self.residual and isinstance(kernel_size, (int, float)) and kernel_size % 2 == 0:
            # an even kernel's padding cannot keep the length, so the residual sum cannot add up
            raise ValueError(f"kernel_size={kernel_size!r} must be odd in a block with a residual "
                             "connection (stride 1, in_channels == out_channels)")

    @property
    def in_channels(self) -> Size:
        return self.sizes["in_channels"]

    @property
    def out_channels(self) -> Size:
        return self.sizes["out_channels"]

    @property
    def kernel_size(self) -> Size:
        return self.sizes["kernel_size"]

    @property
    def expansion(self) -> Size:
        return self.sizes["expansion"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return out + x if self.residual else out

    def extra_repr(self) -> str:
        return (f"{self.in_channels!r} -> {self.out_channels!r}, kernel_size={self.kernel_size!r}, "
                f"expansion={self.expansion!r}, stride={self.stride}, residual={self.residual}")


__all__ = ["InvertedResidual"]
