"""Recording what every module of a search model receives, for one example input.

FLOPs and latency of a module depend on its input shapes, so the cost model runs the search model
once on the example input (batch of one, evaluation mode, no gradients) and keeps the inputs of
every module call. Every candidate must run, so labels whose relaxation runs a sampled subset
(GDAS, the binary gates) are traced with softmax weights; a space whose candidates need their
own relaxation's forward (PC-DARTS' partial channels) is traced with it instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from dnas.relaxations.darts import Softmax
from dnas.space.binding import arch_groups

#: ``id(module) -> [(args, kwargs), ...]``, one entry per call
Calls = dict[int, list[tuple[tuple[Any, ...], dict[str, Any]]]]


def _clone(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    if isinstance(v, (list, tuple)):
        return type(v)(_clone(x) for x in v)
    return v


@contextmanager
def _softmax_everywhere(model: nn.Module) -> Iterator[None]:
    groups = arch_groups(model)
    saved = {label: (g.relaxation, g.sample) for label, g in groups.items()}
    try:
        for g in groups.values():
            g.relaxation = Softmax()
        yield
    finally:
        for label, (relaxation, sample) in saved.items():
            groups[label].relaxation, groups[label].sample = relaxation, sample


def _run(model: nn.Module, x: Any) -> Calls:
    calls: Calls = {}

    def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
        calls.setdefault(id(module), []).append((_clone(args), _clone(kwargs)))

    handles = [m.register_forward_pre_hook(hook, with_kwargs=True) for m in model.modules()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return calls


def record_calls(model: nn.Module, example_input: torch.Tensor) -> Calls:
    """The inputs of every module call when ``model`` runs on ``example_input[:1]``."""
    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 1:
        raise ValueError(
            f"example_input must be a batch tensor (N, ...), got {type(example_input).__name__}"
        )
    x = example_input[:1]
    try:
        with _softmax_everywhere(model):
            return _run(model, x)
    except (RuntimeError, ValueError):
        pass  # candidates that need their own relaxation's forward (partial channels)
    groups = arch_groups(model)
    saved = {label: g.sample for label, g in groups.items()}
    try:
        gen = torch.Generator(device=x.device).manual_seed(0)
        for g in groups.values():
            g.resample(gen)
        return _run(model, x)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ValueError(f"the model cannot take example_input {tuple(x.shape)}: {err}") from err
    finally:
        for label, sample in saved.items():
            groups[label].sample = sample


__all__ = ["Calls", "record_calls"]
