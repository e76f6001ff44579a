"""What a retraining accepts as data: two ``(X, y)`` sets of class-labelled samples, checked once
before anything is moved or trained (the same rows, integer labels, finite inputs, one shape)."""

from __future__ import annotations

from typing import Any

import torch

from dnas.runtime.batches import tensor_pair
from dnas.runtime.finite import check_data


def checked_sets(train: Any, test: Any) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Both sets as checked ``(X, y)`` tensors: rows, class labels (integers >= 0, one per
    sample), finite inputs, the same input shape."""
    sets = []
    for name, data in (("train", train), ("test", test)):
        X, y = tensor_pair(data, name)
        if y.is_floating_point() or y.dim() != 1 or int(y.min()) < 0:
            raise ValueError(f"{name} y must hold one class label (an integer >= 0) per sample, "
                             f"got {tuple(y.shape)} {y.dtype} values from {int(y.min())}")
        check_data(X, f"{name} X")
        sets.append((X, y))
    if sets[0][0].shape[1:] != sets[1][0].shape[1:]:
        raise ValueError(f"train X has samples of shape {tuple(sets[0][0].shape[1:])}, test X of "
                         f"{tuple(sets[1][0].shape[1:])}; they must match")
    return tuple(sets)


__all__ = ["checked_sets"]
