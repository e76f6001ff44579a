"""The front door: names, options, and the Dataset contract."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest
import torch

from dnas.data import DATASETS, Dataset, load


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; valid names: mnist1d, digits"):
        load("mnist")
    assert set(DATASETS) == {"mnist1d", "digits", "cifar10", "synthetic"}


def test_unknown_option_names_the_allowed_ones():
    with pytest.raises(TypeError, match=r"'digits' has no option.* n; its options: test_size"):
        load("digits", n=3)
    with pytest.raises(TypeError, match="seed=.* must be an integer"):
        load("synthetic", seed="0")


def test_each_name_loads(tmp_path, cifar_folder):
    folder, _ = cifar_folder
    loaded = {
        "digits": load("digits", seed=2),
        "synthetic": load("synthetic", seed=1, n=8, shape=(3, 8, 8)),
        "cifar10": load("cifar10", root=folder.parent, normalize=False),
    }
    if importlib.util.find_spec("mnist1d") is not None:  # an optional dependency
        loaded["mnist1d"] = load("mnist1d", cache_dir=tmp_path, num_samples=50)
    for name, ds in loaded.items():
        assert isinstance(ds, Dataset) and ds.name == name
        assert ds.X_train.dtype == torch.float32 and ds.y_test.dtype == torch.int64
        assert ds.X_train.shape[1] == ds.in_channels and ds.X_train.dim() == ds.dim + 2
    assert torch.equal(
        load("synthetic", seed=1, n=8, shape=(3, 8, 8)).X_train, loaded["synthetic"].X_train
    )
    with pytest.raises(ValueError, match="cifar10 needs root="):
        load("cifar10")


def _tiny(**changes) -> Dataset:
    fields = {
        "X_train": torch.zeros(4, 2, 5),
        "y_train": torch.tensor([0, 1, 2, 0]),
        "X_test": torch.zeros(2, 2, 5),
        "y_test": torch.tensor([1, 2]),
        "num_classes": 3,
        "in_channels": 2,
        "dim": 1,
        "name": "tiny",
    }
    return Dataset(**{**fields, **changes})


def test_dataset_is_frozen_and_checked():
    ds = _tiny()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"
    assert ds.input_shape == (2, 5) and "train=(4, 2, 5)" in repr(ds)
    assert ds.to("cpu").X_train.shape == (4, 2, 5)
    with pytest.raises(TypeError, match="X_train must be float32"):
        _tiny(X_train=torch.zeros(4, 2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="labels outside"):
        _tiny(y_test=torch.tensor([1, 3]))
    with pytest.raises(ValueError, match="y_train has shape"):
        _tiny(y_train=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"expected \(N, 2, \.\.\.\)"):
        _tiny(X_test=torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="dim=3"):
        _tiny(dim=3)
