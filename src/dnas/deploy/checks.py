"""What export checks: that the model is fixed, and how far the exported model is from PyTorch.

A model that still holds choices (``LayerChoice``, ``InputChoice`` or their architecture
parameters) is a search network: its output mixes every candidate, which is not the architecture
that was found, so it is refused. Outputs are compared as a flat list of tensors (a tuple, list or
dict of tensors in the model's order), by the largest absolute difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from dnas.space.modules import ArchParams, _Choice


def refuse_search_network(model: nn.Module) -> None:
    """``ValueError`` when ``model`` still holds choices (fix and retrain it first)."""
    labels = sorted({m.label for m in model.modules() if isinstance(m, (_Choice, ArchParams))})
    if labels:
        shown = ", ".join(labels[:4]) + (", ..." if len(labels) > 4 else "")
        raise ValueError(
            f"the model still holds {len(labels)} choice label(s) ({shown}): it is a search "
            "network, whose output mixes every candidate; export the fixed model instead: "
            "dnas.fix(model, architecture) and retrain it (for the DARTS cell space: "
            "dnas.spaces.darts.eval_network(architecture), or `dnas retrain`), then export that"
        )


def flatten(output: Any) -> list[torch.Tensor]:
    """The tensors of ``output`` (a tensor, or nested tuples/lists/dicts of tensors) in order."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, Mapping):
        return [t for v in output.values() for t in flatten(v)]
    if isinstance(output, Sequence) and not isinstance(output, (str, bytes)):
        return [t for v in output for t in flatten(v)]
    raise TypeError(
        f"the model returns a {type(output).__name__}: export needs tensors, or tuples, lists "
        "or dicts of tensors"
    )


def max_abs_diff(expected: Sequence[torch.Tensor], got: Sequence[torch.Tensor]) -> float:
    """Largest ``|expected - got|`` over all outputs; ``ValueError`` when their shapes differ."""
    if len(expected) != len(got):
        raise ValueError(
            f"the exported model returns {len(got)} output(s), PyTorch {len(expected)}"
        )
    worst = 0.0
    for i, (a, b) in enumerate(zip(expected, got)):
        b = torch.as_tensor(b)
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(
                f"output {i} of the exported model has shape {tuple(b.shape)}, PyTorch's "
                f"{tuple(a.shape)}"
            )
        if a.numel():
            diff = (a.detach().double().cpu() - b.double().cpu()).abs()
            worst = max(worst, float(diff.nan_to_num(nan=float("inf")).max()))
    return worst
