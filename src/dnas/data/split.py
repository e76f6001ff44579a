"""Splits: the DARTS search split (the training set cut in two, one half for w and one for α), and
the stratified train/test split of a data set that comes as one set.

DARTS (Liu et al., 2019, section 3.3) holds out half of the CIFAR-10 training set as the
validation split on which the architecture α is optimised, while the weights w train on the other
half. We cut a seeded random permutation at ``floor(fraction · N)``; the two parts are disjoint and
together hold every sample once (each part keeps the original order of its samples).
"""

from __future__ import annotations

import numpy as np
import torch

from dnas.runtime.checks import check_float


def search_split(
    X: torch.Tensor, y: torch.Tensor, fraction: float = 0.5, seed: int = 0
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split ``(X, y)`` into the weight half and the architecture half of a bilevel search.

    Parameters
    ----------
    X, y : torch.Tensor
        Training inputs and labels with equal first dimension.
    fraction : float
        Share of the samples in the first (w) part, in (0, 1); both parts must be non-empty.
    seed : int
        Seeds the permutation (a CPU ``torch.Generator``), so the split is the same on any device.

    Returns
    -------
    ((Xa, ya), (Xb, yb))
        ``floor(fraction · N)`` samples for training w, the rest for training α.
    """
    if not (isinstance(X, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"X and y must be tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.dim() == 0 or y.dim() == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same first dimension, got shapes {tuple(X.shape)} and "
            f"{tuple(y.shape)}"
        )
    check_float("fraction", fraction)  # the range is checked below, with the sample count
    n = X.shape[0]
    k = int(fraction * n) if 0.0 < fraction < 1.0 else -1
    if not 0 < k < n:
        raise ValueError(
            f"fraction={fraction!r} of {n} samples leaves an empty part; use a value in (0, 1) "
            "with at least one sample on each side"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    first, second = order[:k].sort().values, order[k:].sort().values
    first, second = first.to(X.device), second.to(X.device)
    return (X[first], y[first.to(y.device)]), (X[second], y[second.to(y.device)])


def stratified_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices holding ``round(test_size * n_c)`` of each class ``c`` in test.

    Parameters
    ----------
    y : np.ndarray
        Integer labels.
    test_size : float
        Fraction of every class that goes to the test side, in (0, 1).
    seed : int
        Seeds the per-class permutations (``numpy.random.default_rng``).
    """
    check_float("test_size", test_size, 0, 1, low_open=True, high_open=True)
    rng = np.random.default_rng(seed)
    test: list[np.ndarray] = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = round(test_size * len(members))
        test.append(rng.permutation(members)[:k])
    test_idx = np.sort(np.concatenate(test))
    train_mask = np.ones(len(y), dtype=bool)
    train_mask[test_idx] = False
    return np.flatnonzero(train_mask), test_idx
