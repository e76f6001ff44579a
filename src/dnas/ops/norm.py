"""BatchNorm for search networks: no step counter, and running statistics updated in bulk.

``nn.BatchNorm`` adds 1 to ``num_batches_tracked`` on every training call, even with a fixed
``momentum``, where the counter is never read: one kernel launch per BatchNorm per pass (929 per
pass of the DARTS search network, ~7% of its launches). :class:`UncountedBatchNorm1d` /
:class:`UncountedBatchNorm2d` are the same layers without the counter, and
:func:`uncount_batch_norms` swaps them in.

:class:`RunningStatsUpdate` serves an execution that normalises many BatchNorms' inputs in a few
calls (the packed DARTS cell): each call writes its batch statistics into one shared buffer, and
the modules' running statistics then move with two multi-tensor operations,

    r ← (1 - m) · r + m · s          (s = batch mean, or unbiased batch variance)

which is the update ``nn.BatchNorm`` makes with ``momentum = m``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class _Uncounted:
    """Mixin: a BatchNorm with a fixed momentum keeps no ``num_batches_tracked`` counter."""

    def _drop_counter(self) -> None:
        if self.momentum is None:  # type: ignore[attr-defined]
            raise ValueError(
                "an uncounted BatchNorm needs a fixed momentum (momentum=None averages "
                "cumulatively, which reads the step counter)"
            )
        self.register_buffer("num_batches_tracked", None)  # type: ignore[attr-defined]

    def reset_running_stats(self) -> None:
        if self.track_running_stats:  # type: ignore[attr-defined]
            self.running_mean.zero_()  # type: ignore[attr-defined]
            self.running_var.fill_(1)  # type: ignore[attr-defined]

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        super()._load_from_state_dict(  # type: ignore[misc]
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        # a checkpoint of a counting BatchNorm carries the counter: nothing here reads it
        key = prefix + "num_batches_tracked"
        if key in unexpected_keys:
            unexpected_keys.remove(key)


class UncountedBatchNorm1d(_Uncounted, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` without the ``num_batches_tracked`` counter (fixed momentum only)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drop_counter()


class UncountedBatchNorm2d(_Uncounted, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` without the ``num_batches_tracked`` counter (fixed momentum only)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drop_counter()


_UNCOUNTED: dict[type, type] = {
    nn.BatchNorm1d: UncountedBatchNorm1d,
    nn.BatchNorm2d: UncountedBatchNorm2d,
}


def _uncounted_copy(bn: _BatchNorm) -> _BatchNorm:
    cls: Any = _UNCOUNTED[type(bn)]
    new = cls.__new__(cls)
    nn.Module.__init__(new)
    for key in ("num_features", "eps", "momentum", "affine", "track_running_stats"):
        setattr(new, key, getattr(bn, key))
    # the very same parameter and buffer tensors: optimisers and references stay valid
    new.weight, new.bias = bn.weight, bn.bias
    new.register_buffer("running_mean", bn.running_mean)
    new.register_buffer("running_var", bn.running_var)
    new.register_buffer("num_batches_tracked", None)
    new.train(bn.training)
    return new


def uncount_batch_norms(module: nn.Module) -> int:
    """Replace, in place, every ``nn.BatchNorm1d``/``nn.BatchNorm2d`` of ``module`` that has a
    fixed momentum and running statistics by its uncounted twin; return how many were replaced.

    The replacement holds the same parameter and buffer tensors. A state dict written before the
    swap (with ``num_batches_tracked`` entries) still loads.
    """
    count = 0
    for parent in module.modules():
        for name, child in list(parent.named_children()):
            if (
                type(child) in _UNCOUNTED
                and child.momentum is not None
                and child.track_running_stats
            ):
                setattr(parent, name, _uncounted_copy(child))  # type: ignore[arg-type]
                count += 1
    return count


class RunningStatsUpdate:
    """Batch statistics of several BatchNorm calls in one buffer, then one bulk update.

    Parameters
    ----------
    calls : sequence of (int, sequence of (BatchNorm, int))
        One entry per normalisation call: its channel count, and the modules whose running
        statistics it stands for, each with the call channel at which its ``num_features``
        channels start. Modules either tile the call (stacked per-module computations) or
        several cover the same channels (one computation shared by several modules; each then
        receives the same statistics).
    like : Tensor
        Gives device and dtype of the statistics buffer.

    Notes
    -----
    Each call runs ``F.batch_norm`` in training mode with momentum 1 on a zero-initialised slot,
    so the slot ends holding exactly the batch mean and unbiased variance. :meth:`apply` then
    moves every module's running statistics with two ``torch._foreach`` operations per momentum
    value: the arithmetic ``nn.BatchNorm`` performs, in one pass over all modules. All views
    come from four ``split`` calls, whatever the number of modules.
    """

    def __init__(
        self, calls: Sequence[tuple[int, Sequence[tuple[_BatchNorm, int]]]], like: torch.Tensor
    ) -> None:
        sizes: list[int] = []
        segments: list[int] = []
        where: list[dict[tuple[int, int], int]] = []
        for channels, modules in calls:
            sizes.append(channels)
            spans = sorted({(offset, m.num_features) for m, offset in modules})
            ends = [0] + [o + n for o, n in spans]
            if [o for o, _ in spans] != ends[:-1] or ends[-1] != channels:
                raise ValueError(
                    f"BatchNorm modules {[(o, n) for o, n in spans]} do not tile a call of "
                    f"{channels} channels"
                )
            first = len(segments)
            segments += [n for _, n in spans]
            where.append({span: first + i for i, span in enumerate(spans)})
        mean, var = like.new_zeros(2, sum(sizes)).unbind(0)
        self._calls = list(zip(mean.split(sizes), var.split(sizes)))
        seg_mean, seg_var = mean.split(segments), var.split(segments)
        self._targets: dict[float, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
        for (_, modules), index in zip(calls, where):
            for m, offset in modules:
                s = index[offset, m.num_features]
                bufs, stats = self._targets.setdefault(float(m.momentum), ([], []))  # type: ignore[arg-type]
                bufs += [m.running_mean, m.running_var]  # type: ignore[list-item]
                stats += [seg_mean[s], seg_var[s]]

    def batch_norm(self, x: torch.Tensor, call: int, eps: float) -> torch.Tensor:
        """Normalise ``x`` with its batch statistics (training mode), recording them in slot
        ``call``."""
        mean, var = self._calls[call]
        return F.batch_norm(x, mean, var, None, None, True, 1.0, eps)

    def apply(self) -> None:
        """Move the running statistics of every listed module (call once, after all calls)."""
        with torch.no_grad():
            for momentum, (bufs, stats) in self._targets.items():
                torch._foreach_mul_(bufs, 1.0 - momentum)
                torch._foreach_add_(bufs, stats, alpha=momentum)


__all__ = [
    "RunningStatsUpdate",
    "UncountedBatchNorm1d",
    "UncountedBatchNorm2d",
    "uncount_batch_norms",
]
