"""Synthetic CIFAR-shaped data: seeded, shaped as asked, and learnable."""

from __future__ import annotations

import pytest
import torch

from dnas.data.synthetic import load_synthetic


def test_default_is_cifar_shaped():
    ds = load_synthetic()
    assert ds.X_train.shape == (1024, 3, 32, 32) and ds.X_test.shape == (256, 3, 32, 32)
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert (ds.dim, ds.in_channels, ds.num_classes, ds.name) == (2, 3, 10, "synthetic")


def test_seeded():
    a, b, c = (load_synthetic(seed=s, n=32) for s in (4, 4, 5))
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.X_train, c.X_train)


def test_sequences_and_nearest_class_mean_beats_chance():
    ds = load_synthetic(n=400, n_test=200, shape=(2, 30), classes=4)
    assert ds.dim == 1 and ds.X_train.shape == (400, 2, 30) and ds.num_classes == 4
    means = torch.stack([ds.X_train[ds.y_train == c].mean(0) for c in range(4)]).flatten(1)
    pred = torch.cdist(ds.X_test.flatten(1), means).argmin(1)
    assert (pred == ds.y_test).float().mean() > 0.6  # chance is 0.25


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"n": 0}, "n=0 must be an integer >= 1"),
        ({"n_test": -1}, "n_test=-1 must be an integer >= 1"),
        ({"shape": (3, 32, 32, 2)}, "shape must be"),
        ({"shape": (3, 0)}, "shape must be"),
        ({"classes": 1}, "classes=1 must be an integer >= 2"),
    ],
)
def test_bad_options(kw, message):
    with pytest.raises(ValueError, match=message):
        load_synthetic(**kw)
