"""A small space with every kind of choice the cost model handles."""

from __future__ import annotations

import itertools

import torch
from torch import nn

import dnas
import dnas.nn as dnn


def small_space(dim: int = 1) -> nn.Module:
    """Stem width, kernel and expansion choices, a searchable depth of skippable blocks, a
    second width, and a linear head."""
    w = dnas.ValueChoice([4, 8], label="w")
    w2 = dnas.ValueChoice([6, 12], label="w2")
    k = dnas.ValueChoice([3, 5], label="k")
    e = dnas.ValueChoice([2, 3], label="e")
    conv, bn, pool = ((dnn.Conv1d, dnn.BatchNorm1d, nn.AdaptiveAvgPool1d) if dim == 1
                      else (dnn.Conv2d, dnn.BatchNorm2d, nn.AdaptiveAvgPool2d))

    def block(i: int) -> nn.Module:
        return dnas.LayerChoice({"mb": dnn.InvertedResidual(w, w, k, e, dim=dim),
                                 "skip": nn.Identity()}, label=f"s{i}")

    return nn.Sequential(
        conv(1, w, 3), bn(w), nn.ReLU(),
        dnas.Repeat(block, depth=[0, 1, 2], label="d"),
        dnn.InvertedResidual(w, w2, k, e, stride=2, dim=dim),
        pool(1), nn.Flatten(), dnn.Linear(w2, 5),
    )


def example_input(dim: int = 1) -> torch.Tensor:
    return torch.randn(3, 1, *([12] if dim == 1 else [6, 6]))


def all_architectures(model: nn.Module):
    """Every architecture of the model's labels (small spaces only)."""
    groups = dnas.space.arch_groups(model)
    labels = list(groups)
    options = [getattr(groups[k], "values", groups[k].names) for k in labels]
    for combo in itertools.product(*options):
        yield dnas.Architecture(dict(zip(labels, combo)))
