"""Retraining stops at the first NaN or infinity with one clear error; NaN/inf data are refused
up front; float64 inputs follow the weights' dtype; the first batch's misfits are named."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dnas.runtime.checkpoint import Checkpoint, load_checkpoint
from dnas.runtime.finite import NonFiniteError
from dnas.train import retrain

OPTIONS = {"epochs": 2, "batch_size": 8, "device": "cpu", "cutout": 0, "crop_padding": 0,
           "flip": False, "amp": "off"}


def _data(n=32):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 5, generator=g)
    return X, (X[:, 0] > 0).long()


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))


@pytest.mark.parametrize("options", [{"lr": 1e30}, {"lr": 1e25, "grad_clip": None}])
def test_a_diverging_learning_rate_stops_retraining(tmp_path, options):
    data = _data()
    with pytest.raises(NonFiniteError, match=r"^retraining stopped at epoch 1, step \d: the "
                       r"training loss is (nan|inf)\. Likely cause: the weights diverged: the "
                       r"learning rate lr=1e\+(30|25)"):
        retrain(_net(), data, data, callbacks=[Checkpoint(tmp_path, every_steps=1)],
                **{**OPTIONS, **options})
    load_checkpoint(tmp_path)  # what was written is finite (load_checkpoint checks it)


@pytest.mark.parametrize("part", ["train", "test"])
def test_nan_data_are_refused(part):
    X, y = _data()
    bad = X.clone()
    bad[3, 4] = math.inf
    sets = {"train": (bad, y), "test": (X, y)} if part == "train" else {"train": (X, y),
                                                                        "test": (bad, y)}
    with pytest.raises(ValueError, match=rf"{part} X holds 1 NaN or infinite value\(s\); the "
                       r"first is inf at sample 3, position 4"):
        retrain(_net(), sets["train"], sets["test"], **OPTIONS)


def test_float64_inputs_follow_the_weights():
    X, y = _data()
    a = retrain(_net(), (X, y), (X, y), **OPTIONS)
    b = retrain(_net(), (X.double(), y), (X.double(), y), **OPTIONS)
    assert a.test_loss == b.test_loss


def test_first_batch_misfits_are_named():
    X, y = _data()
    with pytest.raises(ValueError, match=r"the model cannot take the training inputs "
                       r"\(x: \(8, 4\), torch.float32\)"):
        retrain(_net(), (X[:, :4], y), (X[:, :4], y), **OPTIONS)
    with pytest.raises(ValueError, match="loss_fn cannot compare the model output .* Target [67]"):
        retrain(_net(), (X, y + 6), (X, y), **OPTIONS)


@pytest.mark.parametrize(
    "train, test, match",
    [
        (lambda X, y: (X[:0], y[:0]), lambda X, y: (X, y), "train is empty: X has 0 rows"),
        (lambda X, y: (X, y[:5]), lambda X, y: (X, y), "train: X has 32 rows but y has 5"),
        (lambda X, y: ([1, 2], [0, 1]), lambda X, y: (X, y),
         r"train must be an \(X, y\) pair of tensors or NumPy arrays"),
        (lambda X, y: (X, y.float()), lambda X, y: (X, y),
         r"train y must hold one class label \(an integer >= 0\) per sample"),
        (lambda X, y: (X, y), lambda X, y: (X[:, :4], y),
         r"train X has samples of shape \(5,\), test X of \(4,\)"),
        (lambda X, y: (X, y), lambda X, y: (X, y + 7),
         "the test targets hold class 8, but the model outputs 2 classes"),
    ],
)
def test_retraining_data_are_checked(train, test, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        retrain(_net(), train(X, y), test(X, y), **OPTIONS)
