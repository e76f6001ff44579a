"""Searchable fully connected layer: ``in_features`` and ``out_features`` may be value choices.

The weight is ``(F_out, F_in)`` at the largest sizes; output feature ``f`` is scaled by
``Σ_j w_j 1[f < F_j]`` (the narrower layers are the first rows of the widest); the input's
unchosen features are zero (the previous searchable layer's mask), so the first ``F_in`` columns
are the only ones that matter. :meth:`Linear.fixed` returns ``nn.Linear`` with ``W[:f_out, :f_in]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnas.nn.masks import SizedLayer, mask_channels
from dnas.runtime.checks import check_bool
from dnas.space.value import Size, check_size, max_value


class Linear(SizedLayer):
    """``nn.Linear`` whose sizes may be :class:`~dnas.ValueChoice`, weights shared across values.

    Parameters
    ----------
    in_features, out_features : int or Size
        Pass the previous layer's output size object as ``in_features``.
    bias : bool
    device, dtype
        Where and how the weights are allocated.
    """

    def __init__(
        self,
        in_features: Size,
        out_features: Size,
        bias: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        in_features = check_size("in_features", in_features)
        out_features = check_size("out_features", out_features)
        bias = check_bool("bias", bias)
        self.register_sizes(in_features=in_features, out_features=out_features)
        f_in, f_out = int(max_value(in_features)), int(max_value(out_features))
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(f_out, f_in, **factory))
        self.bias = nn.Parameter(torch.empty(f_out, **factory)) if bias else None
        self.add_channel_table("out", out_features, f_out)
        self.reset_parameters()

    @property
    def in_features(self) -> Size:
        return self.sizes["in_features"]

    @property
    def out_features(self) -> Size:
        return self.sizes["out_features"]

    def reset_parameters(self) -> None:
        """torch's Linear initialisation at the largest sizes."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.weight.shape[1]:
            raise ValueError(
                f"Linear expects inputs with {self.weight.shape[1]} features (the largest "
                f"in_features) in the last dimension, got {tuple(x.shape)}"
            )
        out = F.linear(x, self.weight, self.bias)
        if self.has_table("out"):
            out = mask_channels(out, self.mix("out", out), channel_dim=-1)
        return out

    def fixed(self, architecture: Mapping[str, Sequence[Any]]) -> nn.Module:
        s = self.chosen_sizes(architecture)
        f_in, f_out = s["in_features"], s["out_features"]
        layer = nn.Linear(f_in, f_out, bias=self.bias is not None, device=self.weight.device,
                          dtype=self.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(self.weight[:f_out, :f_in])
            if self.bias is not None and layer.bias is not None:
                layer.bias.copy_(self.bias[:f_out])
        return layer

    def extra_repr(self) -> str:
        return f"{self.in_features!r}, {self.out_features!r}, bias={self.bias is not None}"


__all__ = ["Linear"]
