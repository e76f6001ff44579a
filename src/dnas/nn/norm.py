"""Searchable batch normalisation: ``num_features`` may be a value choice.

Statistics and affine parameters are kept for the largest width; channels are independent in
batch normalisation, so the first ``c`` of them are exactly a BatchNorm of width ``c``. The output
is scaled by the width mask again: a zero (unchosen) input channel would otherwise come out as
the shift β. With soft weights this puts the mask after normalisation, as FBNetV2 does.
:meth:`fixed` returns ``nn.BatchNorm1d``/``nn.BatchNorm2d`` with the first ``c`` statistics and
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from dnas.nn.masks import SizedLayer, mask_channels
from dnas.runtime.checks import check_bool, check_float
from dnas.space.value import Size, check_size, max_value


class _BatchNormNd(SizedLayer):
    dim: int = 2
    _plain: type[nn.modules.batchnorm._BatchNorm] = nn.BatchNorm2d

    def __init__(
        self,
        num_features: Size,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        num_features = check_size("num_features", num_features)
        check_float("eps", eps, 0, low_open=True)
        check_float("momentum", momentum, 0, 1, none_ok=True)
        affine = check_bool("affine", affine)
        track_running_stats = check_bool("track_running_stats", track_running_stats)
        self.register_sizes(num_features=num_features)
        n = int(max_value(num_features))
        # the normalisation itself is torch's, at the largest width
        self.bn = self._plain(n, eps, momentum, affine, track_running_stats, device=device,
                              dtype=dtype)
        self.add_channel_table("out", num_features, n)

    @property
    def num_features(self) -> Size:
        return self.sizes["num_features"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(x)
        if self.has_table("out"):
            out = mask_channels(out, self.mix("out", out))
        return out

    def fixed(self, architecture: Mapping[str, Sequence[Any]]) -> nn.Module:
        c = self.chosen_sizes(architecture)["num_features"]
        bn = self.bn
        ref = bn.weight if bn.weight is not None else bn.running_mean
        new = self._plain(c, bn.eps, bn.momentum, bn.affine, bn.track_running_stats,
                          device=None if ref is None else ref.device,
                          dtype=None if ref is None else ref.dtype)
        pairs = [(new.weight, bn.weight), (new.bias, bn.bias),
                 (new.running_mean, bn.running_mean), (new.running_var, bn.running_var)]
        with torch.no_grad():
            for target, source in pairs:
                if target is not None and source is not None:
                    target.copy_(source[:c])
            if new.num_batches_tracked is not None and bn.num_batches_tracked is not None:
                new.num_batches_tracked.copy_(bn.num_batches_tracked)
        return new

    def extra_repr(self) -> str:
        return f"{self.num_features!r}"


class BatchNorm1d(_BatchNormNd):
    """``nn.BatchNorm1d`` whose ``num_features`` may be a :class:`~dnas.ValueChoice`.

    Parameters
    ----------
    num_features : int or Size
        Pass the producing layer's output size object.
    eps, momentum, affine, track_running_stats
        As ``nn.BatchNorm1d``.
    device, dtype
        Where and how the parameters are allocated.
    """

    dim = 1
    _plain = nn.BatchNorm1d


class BatchNorm2d(_BatchNormNd):
    """``nn.BatchNorm2d`` with a searchable width; parameters as :class:`BatchNorm1d`."""

    dim = 2
    _plain = nn.BatchNorm2d


__all__ = ["BatchNorm1d", "BatchNorm2d"]
