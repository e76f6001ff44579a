"""scikit-learn digits: images in [0, 1], a stratified split that depends only on the seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits

from dnas.data.digits import load_digits, stratified_split


def test_images_and_labels():
    ds = load_digits()
    assert ds.X_train.shape[1:] == (1, 8, 8) and len(ds.X_train) + len(ds.X_test) == 1797
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert float(ds.X_train.min()) == 0.0 and float(ds.X_train.max()) == 1.0
    assert (ds.dim, ds.in_channels, ds.num_classes, ds.name) == (2, 1, 10, "digits")
    # the images are sklearn's, in sklearn's order within each side of the split
    ref = sklearn_digits()
    _, test = stratified_split(ref.target, 0.2, 0)
    np.testing.assert_allclose(ds.X_test[:, 0].numpy(), ref.images[test] / 16.0, rtol=1e-6)
    assert ds.y_test.tolist() == ref.target[test].tolist()


def test_split_is_stratified_disjoint_complete():
    y = np.repeat(np.arange(4), [10, 20, 31, 5])
    train, test = stratified_split(y, 0.2, seed=5)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    assert np.bincount(y[test]).tolist() == [2, 4, 6, 1]


def test_seed_decides_the_split():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert torch.equal(a.X_test, b.X_test) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.X_test, c.X_test)
    assert torch.equal(torch.bincount(a.y_test), torch.bincount(c.y_test))  # same strata


def test_bad_test_size():
    with pytest.raises(ValueError, match=r"test_size=1\.5 must be a number in \(0, 1\)"):
        load_digits(test_size=1.5)
