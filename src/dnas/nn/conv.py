"""Searchable convolutions: output channels, input channels and kernel size may be value choices.

One weight tensor is allocated at the largest sizes, ``(C_out, C_in / groups, K, ...)``. The
forward pass uses the kernel ``W ⊙ Σ_j w_j M_j`` (centred windows, :mod:`dnas.nn.masks`) with
padding ``dilation · (K - 1) / 2`` and scales output channel ``c`` by ``Σ_j w_j 1[c < C_j]``;
the input is expected at the largest input width with the unchosen channels zero (which the
previous searchable layer guarantees). :meth:`fixed` returns ``nn.Conv1d``/``nn.Conv2d`` of the
chosen sizes holding the slice ``W[:c_out, :c_in, centre]`` and ``b[:c_out]``.

Grouped convolution with searchable widths is supported in its depthwise form only
(``groups=in_channels`` with ``out_channels`` the same size), as used by inverted residual blocks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnas.nn.masks import SizedLayer, kernel_table, mask_channels
from dnas.runtime.checks import check_bool, check_int
from dnas.space.value import Size, check_size, combination_weights, is_choice, max_value

_CONV = {1: (nn.Conv1d, F.conv1d), 2: (nn.Conv2d, F.conv2d)}


class _ConvNd(SizedLayer):
    dim: int = 2

    def __init__(
        self,
        in_channels: Size,
        out_channels: Size,
        kernel_size: Size,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        groups: int | Size = 1,
        bias: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        in_channels = check_size("in_channels", in_channels)
        out_channels = check_size("out_channels", out_channels)
        kernel_size = check_size("kernel_size", kernel_size, odd=is_choice(kernel_size))
        stride, dilation = (int(check_int(n, v, 1)) for n, v in
                            (("stride", stride), ("dilation", dilation)))
        bias = check_bool("bias", bias)
        if padding is not None and (
            is_choice(kernel_size) or isinstance(padding, bool) or not isinstance(padding, int)
            or padding < 0
        ):
            raise ValueError(
                f"padding={padding!r}: give None (dilation · (k - 1) / 2, the same for every "
                "kernel size) when the kernel size is a choice, else an integer >= 0"
            )
        self.depthwise = is_choice(in_channels) and groups is in_channels
        if self.depthwise:
            if out_channels is not in_channels:
                raise ValueError(
                    "a depthwise convolution (groups=in_channels) needs out_channels to be the "
                    "same size object as in_channels"
                )
        elif is_choice(groups) or not (isinstance(groups, int) and groups >= 1):
            raise ValueError(
                f"groups={groups!r} must be 1, an integer dividing the channels, or in_channels "
                "itself (depthwise)"
            )
        elif groups != 1 and (is_choice(in_channels) or is_choice(out_channels)):
            raise ValueError(
                f"groups={groups} with searchable widths is not supported; use groups=1 or "
                "groups=in_channels (depthwise)"
            )
        self.register_sizes(in_channels=in_channels, out_channels=out_channels,
                            kernel_size=kernel_size)
        self.stride, self.dilation, self.padding = stride, dilation, padding
        c_in, c_out, k = (int(max_value(s)) for s in (in_channels, out_channels, kernel_size))
        self.groups = c_in if self.depthwise else int(groups)  # type: ignore[arg-type]
        if c_in % self.groups or c_out % self.groups:
            raise ValueError(f"groups={groups} must divide in_channels={c_in} and "
                             f"out_channels={c_out}")
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        shape = (c_out, c_in // self.groups, *([k] * self.dim))
        self.weight = nn.Parameter(torch.empty(shape, **factory))
        self.bias = nn.Parameter(torch.empty(c_out, **factory)) if bias else None
        self.add_channel_table("out", out_channels, c_out)
        if is_choice(kernel_size):
            self.add_table("kernel", *kernel_table(kernel_size, k, self.dim))
        self.reset_parameters()

    @property
    def in_channels(self) -> Size:
        return self.sizes["in_channels"]

    @property
    def out_channels(self) -> Size:
        return self.sizes["out_channels"]

    @property
    def kernel_size(self) -> Size:
        return self.sizes["kernel_size"]

    def reset_parameters(self) -> None:
        """torch's Conv initialisation at the largest sizes."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    def _padding(self) -> int:
        if self.padding is not None:
            return self.padding
        return self.dilation * (self.weight.shape[-1] - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c_in = self.weight.shape[1] * self.groups
        if x.dim() != self.dim + 2 or x.shape[1] != c_in:
            raise ValueError(
                f"{type(self).__name__} expects input (N, {c_in}, ...) with {self.dim} spatial "
                f"dimension(s) (the largest in_channels), got {tuple(x.shape)}"
            )
        weight: torch.Tensor = self.weight
        bias: torch.Tensor | None = self.bias
        if self.has_table("kernel"):
            window = self.mix("kernel", weight)
            weight = weight * window.view(*([1, 1]), *weight.shape[2:])
            if bias is not None:  # Σ_j w_j (conv_j(x) + b): the bias counts Σ_j w_j times
                kernel_weights = combination_weights(self._table_choices["kernel"])
                bias = bias * kernel_weights.sum().to(bias.dtype)
        if self.dim == 1 and self.groups > 1:
            # grouped 1-D convolution as a 2-D one over a unit width: the same arithmetic, and
            # torch's CPU kernels for it are ~4x faster (torch 2.13)
            out = F.conv2d(x.unsqueeze(-1), weight.unsqueeze(-1), bias, (self.stride, 1),
                           (self._padding(), 0), (self.dilation, 1), self.groups).squeeze(-1)
        else:
            out = _CONV[self.dim][1](x, weight, bias, self.stride, self._padding(),
                                     self.dilation, self.groups)
        if self.has_table("out"):
            out = mask_channels(out, self.mix("out", out))
        return out

    def fixed(self, architecture: Mapping[str, Sequence[Any]]) -> nn.Module:
        s = self.chosen_sizes(architecture)
        c_in, c_out, k = s["in_channels"], s["out_channels"], s["kernel_size"]
        groups = c_in if self.depthwise else self.groups
        padding = self.padding if self.padding is not None else self.dilation * (k - 1) // 2
        cls = _CONV[self.dim][0]
        conv = cls(c_in, c_out, k, stride=self.stride, padding=padding, dilation=self.dilation,
                   groups=groups, bias=self.bias is not None, device=self.weight.device,
                   dtype=self.weight.dtype)
        big = self.weight.shape[-1]
        start = (big - k) // 2
        window = (slice(start, start + k),) * self.dim
        index = (slice(0, c_out), slice(0, c_in // groups), *window)
        with torch.no_grad():
            conv.weight.copy_(self.weight[index])
            if self.bias is not None and conv.bias is not None:
                conv.bias.copy_(self.bias[:c_out])
        return conv

    def extra_repr(self) -> str:
        text = (f"{self.in_channels!r}, {self.out_channels!r}, kernel_size={self.kernel_size!r}, "
                f"stride={self.stride}")
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        if self.depthwise:
            text += ", depthwise"
        elif self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """``nn.Conv1d`` whose ``in_channels``, ``out_channels`` and ``kernel_size`` may be
    :class:`~dnas.ValueChoice` (or arithmetic of choices), with weights shared across values.

    Parameters
    ----------
    in_channels, out_channels : int or Size
        Pass the previous layer's ``out_channels`` object as ``in_channels``.
    kernel_size : int or Size
        Odd values when it is a choice.
    stride, dilation : int
    padding : int, optional
        Default ``dilation · (k - 1) // 2`` ("same" at stride 1); must stay None when the kernel
        size is a choice.
    groups : int or Size
        1, or ``in_channels`` itself for a depthwise convolution.
    bias : bool
    device, dtype
        Where and how the weights are allocated.
    """

    dim = 1


class Conv2d(_ConvNd):
    """``nn.Conv2d`` with searchable sizes; parameters as :class:`Conv1d`."""

    dim = 2


__all__ = ["Conv1d", "Conv2d"]
