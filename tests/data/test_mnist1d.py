"""MNIST-1D: generated offline by the mnist1d package, cached atomically, reloaded, repaired."""

from __future__ import annotations

import random
import socket
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("mnist1d")

from mnist1d.data import get_dataset_args, make_dataset

from dnas.data import mnist1d as m1d
from dnas.data.mnist1d import load_mnist1d


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Any attempt to reach the network fails the test (the download path must never run)."""

    def refuse(*args, **kwargs):
        raise AssertionError("MNIST-1D tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def standard(tmp_path_factory):
    cache = tmp_path_factory.mktemp("mnist1d")
    return cache, load_mnist1d(cache_dir=cache)


def test_standard_split_shapes_and_types(standard):
    cache, ds = standard
    assert ds.X_train.shape == (4000, 1, 40) and ds.X_test.shape == (1000, 1, 40)
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert (ds.dim, ds.in_channels, ds.num_classes, ds.name) == (1, 1, 10, "mnist1d")
    assert torch.bincount(ds.y_train, minlength=10).min() > 350  # ~400 of each digit
    assert torch.isfinite(ds.X_train).all()
    # the generator standardises the whole set: mean 0, std 1
    X = torch.cat([ds.X_train, ds.X_test])
    assert abs(float(X.mean())) < 1e-3 and abs(float(X.std()) - 1) < 1e-2
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 1 and files[0].startswith("mnist1d-n5000-seed42-")


def test_reload_from_cache_without_generating(standard, monkeypatch):
    cache, ds = standard

    def no_generation(args):
        raise AssertionError("regenerated although the cache is valid")

    monkeypatch.setattr(m1d, "_generate", no_generation)
    again = load_mnist1d(cache_dir=cache)
    assert torch.equal(again.X_train, ds.X_train) and torch.equal(again.y_test, ds.y_test)


def test_matches_the_package_generator_and_keeps_global_rng(tmp_path):
    random.seed(123)
    np.random.seed(123)
    before = (random.random(), np.random.rand())
    random.seed(123)
    np.random.seed(123)
    ds = load_mnist1d(cache_dir=tmp_path, num_samples=200)
    assert (random.random(), np.random.rand()) == before  # global RNG untouched

    args = get_dataset_args()
    args.num_samples = 200
    ref = make_dataset(args)
    assert ds.X_train.shape == (160, 1, 40) and ds.X_test.shape == (40, 1, 40)
    np.testing.assert_array_equal(ds.X_train[:, 0].numpy(), ref["x"].astype(np.float32))
    np.testing.assert_array_equal(ds.y_test.numpy(), ref["y_test"])


def test_deterministic_across_cache_folders(tmp_path):
    a = load_mnist1d(cache_dir=tmp_path / "a", num_samples=100)
    b = load_mnist1d(cache_dir=tmp_path / "b", num_samples=100)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_train, b.y_train)


def test_env_var_cache_and_no_temp_files_left(tmp_path, monkeypatch):
    monkeypatch.setenv("DNAS_DATA_DIR", str(tmp_path / "env"))
    load_mnist1d(num_samples=100)
    names = [p.name for p in (tmp_path / "env").iterdir()]
    assert len(names) == 1 and names[0].endswith(".npz") and not names[0].startswith(".")


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[:100]),  # truncated zip
        lambda path: np.savez(path, x=np.zeros((3, 40), np.float32)),  # missing keys
        lambda path: np.savez(  # right keys, wrong shapes
            path,
            x=np.zeros((80, 39), np.float32),
            y=np.zeros(80, np.int64),
            x_test=np.zeros((20, 40), np.float32),
            y_test=np.zeros(20, np.int64),
        ),
    ],
)
def test_corrupt_cache_is_regenerated(tmp_path, damage):
    good = load_mnist1d(cache_dir=tmp_path, num_samples=100)
    (path,) = tmp_path.iterdir()
    damage(path)
    with pytest.warns(UserWarning, match="MNIST-1D cache .* regenerating"):
        again = load_mnist1d(cache_dir=tmp_path, num_samples=100)
    assert torch.equal(again.X_train, good.X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: the next load is silent
        load_mnist1d(cache_dir=tmp_path, num_samples=100)


def test_bad_num_samples(tmp_path):
    with pytest.raises(ValueError, match="num_samples=5 must be an integer >= 20"):
        load_mnist1d(cache_dir=tmp_path, num_samples=5)
