"""What one fixed module costs: parameters, FLOPs (``torch.utils.flop_counter``), latency.

A measure is a callable ``measure(module, calls) -> float`` where ``calls`` are the recorded
inputs of the module (:mod:`dnas.cost.trace`, a batch of one); the latency measure is a
:class:`dnas.cost.latency.LatencyTable`. FLOPs are counted the way ``FlopCounterMode`` counts
them (matrix products and convolutions, 2 per multiply-add), per input sample.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dnas.space.value import Size, is_choice, max_value

CallList = Sequence[tuple[tuple[Any, ...], dict[str, Any]]]


class Measure(Protocol):
    """``measure(module, calls) -> cost`` of a module without choices."""

    #: whether the measure runs the module (then it needs recorded inputs)
    needs_inputs: bool

    def __call__(self, module: nn.Module, calls: CallList) -> float: ...


class ParameterCount:
    """Number of weights of the module (its parameters, each counted once)."""

    needs_inputs = False
    unit = "parameters"

    def __call__(self, module: nn.Module, calls: CallList) -> float:
        return float(sum(p.numel() for p in module.parameters()))


def on_meta(module: nn.Module) -> nn.Module:
    """``module`` itself if its tensors are on the meta device, else a meta copy of it."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    if first is None or first.is_meta:
        return module
    return copy.deepcopy(module).to("meta")


def _to_meta(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.to("meta")
    if isinstance(v, (list, tuple)):
        return type(v)(_to_meta(x) for x in v)
    if isinstance(v, dict):
        return {k: _to_meta(x) for k, x in v.items()}
    return v


class FlopCount:
    """FLOPs of the module on its recorded inputs, counted by ``torch.utils.flop_counter``.

    The module runs on the meta device (shapes only, no arithmetic), which counts the same FLOPs
    in a fraction of the time; a module that cannot run there runs as it is.
    """

    needs_inputs = True
    unit = "FLOPs"

    def __call__(self, module: nn.Module, calls: CallList) -> float:
        if not calls:
            return 0.0
        try:
            return self._count(on_meta(module), [(_to_meta(a), _to_meta(k)) for a, k in calls])
        except (RuntimeError, NotImplementedError, TypeError, ValueError):
            return self._count(module, calls)  # e.g. an op without a meta kernel

    @staticmethod
    def _count(module: nn.Module, calls: CallList) -> float:
        was_training = module.training
        module.eval()
        counter = FlopCounterMode(display=False)
        try:
            with torch.no_grad(), counter:
                for args, kwargs in calls:
                    module(*args, **kwargs)
        finally:
            module.train(was_training)
        return float(counter.get_total_flops())


def input_width(module: nn.Module) -> tuple[Size, int] | None:
    """The size (and tensor dimension) of ``module``'s input channels when it is a choice.

    Read off the module's ``in_channels`` / ``in_features`` / ``num_features``, else off its first
    submodule that has one (registration order: the forward order of sequential blocks).
    """
    for m in module.modules():
        for attr, dim in (("in_channels", 1), ("in_features", -1), ("num_features", 1)):
            size = getattr(m, attr, None)
            if size is not None and (is_choice(size) or isinstance(size, int)):
                return (size, dim) if is_choice(size) else None
    return None


def narrow_inputs(calls: CallList, width: tuple[Size, int] | None, value: int) -> list:
    """``calls`` with the first tensor argument cut to ``value`` channels (the fixed input)."""
    if width is None:
        return list(calls)
    size, dim = width
    out = []
    for args, kwargs in calls:
        if args and isinstance(args[0], torch.Tensor) and args[0].shape[dim] == max_value(size):
            args = (args[0].narrow(dim, 0, value), *args[1:])
        out.append((args, kwargs))
    return out


__all__ = [
    "FlopCount", "Measure", "ParameterCount", "input_width", "narrow_inputs", "on_meta",
]
