"""scikit-learn's 8x8 handwritten digits (UCI optical recognition test set; bundled, no download).

1797 grey images with values 0..16, scaled here to [0, 1] and shaped ``(N, 1, 8, 8)``; split into
train and test per class (stratified), deterministically from a seed.
"""

from __future__ import annotations

import numpy as np
import torch

from dnas.data.dataset import Dataset


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
    if not isinstance(test_size, float | int) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
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


def load_digits(*, seed: int = 0, test_size: float = 0.2) -> Dataset:
    """The scikit-learn digits as ``(N, 1, 8, 8)`` float32 images in [0, 1].

    Parameters
    ----------
    seed : int
        Seed of the stratified train/test split.
    test_size : float
        Fraction of each class held out for testing.

    Returns
    -------
    Dataset
        ``dim=2``, ``in_channels=1``, ``num_classes=10``.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.asarray(bunch.images, dtype=np.float32) / 16.0  # pixel values are 0..16
    labels = np.asarray(bunch.target, dtype=np.int64)
    train, test = stratified_split(labels, test_size, seed)
    X = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    return Dataset(
        X_train=X[train].contiguous(),
        y_train=y[train].contiguous(),
        X_test=X[test].contiguous(),
        y_test=y[test].contiguous(),
        num_classes=10,
        in_channels=1,
        dim=2,
        name="digits",
        class_names=tuple(str(c) for c in bunch.target_names),
    )
