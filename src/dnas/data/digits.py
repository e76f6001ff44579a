"""scikit-learn's 8x8 handwritten digits (UCI optical recognition test set; bundled, no download).

1797 grey images with values 0..16, scaled here to [0, 1] and shaped ``(N, 1, 8, 8)``; split into
train and test per class (stratified), deterministically from a seed.
"""

from __future__ import annotations

import numpy as np
import torch

from dnas.data.dataset import Dataset
from dnas.data.split import stratified_split


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
