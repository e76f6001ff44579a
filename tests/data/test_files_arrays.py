"""A user's arrays: .npz files (one set or train/test) and .npy pairs, layouts, labels, limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnas.data import load


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_npz_one_set_is_split_per_class(tmp_path, rng):
    X = rng.normal(size=(60, 5))
    y = np.repeat([0, 1, 2], 20)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load(str(tmp_path / "d.npz"), seed=3, test_size=0.25)
    assert (ds.dim, ds.in_channels, ds.num_classes, ds.kind) == (1, 5, 3, "tabular")
    assert ds.X_train.shape == (45, 5, 1) and ds.X_test.shape == (15, 5, 1)
    assert torch.bincount(ds.y_test).tolist() == [5, 5, 5]  # stratified
    # every sample once, values unchanged (float32), labels with their rows
    both = torch.cat([ds.X_train, ds.X_test])[:, :, 0].numpy()
    assert {tuple(r) for r in both} == {tuple(r) for r in X.astype(np.float32)}
    assert "tabular: 5 features" in ds.description and "train 45 / test 15" in ds.description
    assert ds.class_names == ("0", "1", "2")
    again = load(tmp_path / "d.npz", seed=3, test_size=0.25)
    assert torch.equal(again.X_test, ds.X_test)  # the split is a function of the seed
    other = load(tmp_path / "d.npz", seed=4, test_size=0.25)
    assert not torch.equal(other.X_test, ds.X_test)


def test_npz_train_test_keys_any_case_and_string_labels(tmp_path, rng):
    np.savez(tmp_path / "d.npz", X_train=rng.normal(size=(8, 2, 40)),
             Y_train=np.array(["cat", "dog"] * 4), x_test=rng.normal(size=(4, 2, 40)),
             y_test=np.array(["dog", "cat", "dog", "bird"]))
    ds = load(tmp_path / "d.npz")
    assert (ds.kind, ds.in_channels, ds.input_shape) == ("sequence", 2, (2, 40))
    assert ds.class_names == ("bird", "cat", "dog")  # joint classes, sorted
    assert ds.y_test.tolist() == [2, 1, 2, 0]
    assert "the source's own split" in ds.description


@pytest.mark.parametrize(
    "shape, layout, expected",
    [
        ((6, 28, 28), "auto", (1, 28, 28)),  # square: grey images
        ((6, 3, 50), "auto", (3, 50)),  # few channels, long: NCL
        ((6, 50, 3), "auto", (3, 50)),  # NLC, transposed
        ((6, 3, 8, 8), "auto", (3, 8, 8)),
        ((6, 8, 8, 3), "auto", (3, 8, 8)),  # NHWC, transposed
        ((6, 12, 20), "NHW", (1, 12, 20)),
        ((6, 40), "NL", (1, 40)),
        ((6, 40), "tabular", (40, 1)),
    ],
)
def test_layouts(tmp_path, rng, shape, layout, expected):
    X = rng.normal(size=shape).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(6) % 2)
    ds = load(tmp_path / "d.npz", layout=layout, test_size=0.34)
    assert ds.input_shape == expected
    # the values move with their axes: sample 0 read back in its original layout
    full = torch.cat([ds.X_train, ds.X_test])
    first = full[torch.cat([ds.y_train, ds.y_test]) == 0][0].numpy()
    candidates = X[np.arange(6) % 2 == 0]
    restored = {
        "NLC": lambda a: a.T, "NHWC": lambda a: a.transpose(1, 2, 0),
    }.get(ds.description.split("layout ")[-1].split(")")[0], lambda a: a.reshape(shape[1:]))
    assert any(np.array_equal(restored(first), c) for c in candidates)


@pytest.mark.parametrize(
    "shape, needle",
    [
        ((6, 12, 20), "grey images (N, H, W) or sequences"),
        ((6, 32, 32, 32), "which axis holds the channels"),
        ((6,), "expected (N, F) features"),
        ((6, 2, 2, 2, 2), "expected (N, F) features"),
    ],
)
def test_ambiguous_shapes_ask_for_a_layout(tmp_path, rng, shape, needle):
    np.savez(tmp_path / "d.npz", X=rng.normal(size=shape), y=np.arange(6) % 2)
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load(tmp_path / "d.npz")


def test_npy_pair_in_both_spellings(tmp_path, rng):
    X = rng.integers(0, 255, size=(20, 16, 16, 3)).astype(np.uint8)
    y = np.array([3, 7] * 10)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    a = load(f"{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}")
    b = load((tmp_path / "X.npy", tmp_path / "y.npy"))
    assert torch.equal(a.X_train, b.X_train) and a.input_shape == (3, 16, 16)
    assert a.class_names == ("3", "7") and "mapped to 0..1" in a.description
    assert float(a.X_train.max()) > 1  # array values are used as they are
    with pytest.raises(ValueError, match="give the inputs and the labels as a pair"):
        load(tmp_path / "X.npy")


def test_one_hot_bool_and_float_labels(tmp_path, rng):
    X = rng.normal(size=(10, 4))
    onehot = np.eye(3)[np.arange(10) % 3]
    np.savez(tmp_path / "a.npz", X=X, y=onehot)
    ds = load(tmp_path / "a.npz", test_size=0.3)
    assert ds.num_classes == 3 and "one-hot" in ds.description
    np.savez(tmp_path / "b.npz", X=X, y=np.arange(10) % 2 == 0)
    assert load(tmp_path / "b.npz", test_size=0.3).class_names == ("0", "1")
    np.savez(tmp_path / "c.npz", X=X, y=(np.arange(10) % 2).astype(float))
    assert load(tmp_path / "c.npz", test_size=0.3).num_classes == 2


@pytest.mark.parametrize(
    "arrays, needle",
    [
        ({"X": np.zeros((6, 4)), "y": np.array([0.5, 1, 0, 1, 0, 1])},
         "labels are not integers or strings (0.5 at sample 0)"),
        ({"X": np.zeros((6, 4)), "y": np.zeros(6)}, "a single class"),
        ({"X": np.zeros((6, 4)), "y": np.array([0, 1, np.nan, 1, 0, 1])},
         "labels hold 1 NaN or infinite value(s); the first at sample 2"),
        ({"X": np.zeros((6, 4)), "y": np.zeros(5)}, "do not hold one label per sample"),
        ({"X": np.array(["a"] * 24).reshape(6, 4), "y": np.arange(6) % 2},
         "inputs must be numbers"),
        ({"X": np.zeros((6, 4)), "lab": np.arange(6)}, "expected X and y"),
        ({"X": np.zeros((6, 4)), "y": np.arange(6) % 2, "x_train": np.zeros((6, 4)),
          "y_train": np.arange(6), "x_test": np.zeros((2, 4)), "y_test": np.arange(2)},
         "keep one of the two sets"),
    ],
)
def test_malformed_npz_is_one_clear_error(tmp_path, arrays, needle):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError) as info:
        load(tmp_path / "d.npz")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_nan_and_inf_inputs_report_count_and_position(tmp_path):
    X = np.zeros((6, 4))
    X[2, 3], X[4, 0] = np.nan, np.inf
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(6) % 2)
    with pytest.raises(ValueError, match=r"holds 2 NaN or infinite value\(s\).*nan at sample 2, "
                                         r"position 3"):
        load(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", X=np.full((6, 4), 1e39), y=np.arange(6) % 2)  # float32 overflow
    with pytest.raises(ValueError, match="holds 24 NaN or infinite"):
        load(tmp_path / "e.npz")


def test_pickled_objects_are_never_loaded(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.array([{"a": 1}] * 6, dtype=object), y=np.arange(6) % 2)
    with pytest.raises(ValueError, match="holds Python objects .* never unpickles"):
        load(tmp_path / "d.npz")


def test_damaged_files(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load(tmp_path / "d.npz")
    np.savez(tmp_path / "t.npz", X=np.zeros((60, 40)), y=np.arange(60) % 2)
    raw = (tmp_path / "t.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="t.npz"):
        load(tmp_path / "t.npz")


def test_size_limit_is_checked_from_headers_before_loading(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((1000, 3, 32, 32), np.uint8), y=np.arange(1000) % 2)
    with pytest.raises(ValueError, match=r"needs ~0.0 GiB .*over the 0.001 GiB limit"):
        load(tmp_path / "d.npz", max_gb=0.001)
    assert load(tmp_path / "d.npz", max_gb=0.1).X_train.shape[1:] == (3, 32, 32)


def test_paths_and_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="'missing/d.npz' does not exist"):
        load("missing/d.npz")
    (tmp_path / "d.txt").write_text("hello")
    with pytest.raises(ValueError, match="expected an .npz file, two .npy files, a .csv"):
        load(tmp_path / "d.txt")
    np.savez(tmp_path / "d.npz", X=np.zeros((6, 4)), y=np.arange(6) % 2)
    with pytest.raises(ValueError, match="image_size=32 does not apply to an .npz file"):
        load(tmp_path / "d.npz", image_size=32)
    with pytest.raises(ValueError, match="layout='NCWH' is not one of auto, tabular"):
        load(tmp_path / "d.npz", layout="NCWH")
    with pytest.raises(TypeError, match="no option.* n; its options: label_column"):
        load(tmp_path / "d.npz", n=3)
    with pytest.raises(ValueError, match="leaves 2 for training and 0 for testing"):
        np.savez(tmp_path / "tiny.npz", X=np.zeros((2, 4)), y=np.array([0, 1]))
        load(tmp_path / "tiny.npz")
