"""Hostile input to value choices, searchable depth and the searchable layers: one clear error
naming the parameter and the value, and NumPy numbers accepted where Python ones are."""

import numpy as np
import pytest
import torch

import dnas
import dnas.nn as dnn


def test_numpy_values_are_plain_numbers():
    w = dnas.ValueChoice([np.int64(8), np.int64(16)], label="w")
    assert w.values == (8, 16) and all(type(v) is int for v in w.values)
    assert dnas.ValueChoice([np.float32(0.5), 1.0]).values == (0.5, 1.0)
    assert repr(w + np.int64(2)) == "(w + 2)"


def test_numpy_sizes_and_depths_are_accepted():
    layer = dnn.Linear(np.int64(4), np.int64(3))
    assert layer.weight.shape == (3, 4) and type(layer.in_features) is int
    conv = dnn.Conv1d(np.int64(2), 4, np.int64(3), stride=np.int64(2))
    assert conv(torch.randn(1, 2, 9)).shape == (1, 4, 5)
    stage = dnas.Repeat(lambda i: torch.nn.Identity(), np.int64(2))
    assert len(stage.blocks) == 2


def test_numpy_value_in_an_architecture():
    w = dnas.ValueChoice([4, 8], label="w")
    net = torch.nn.Sequential(dnn.Linear(3, w), dnn.Linear(w, 2))
    fixed = dnas.fix(net, dnas.Architecture({"w": [np.int64(8)]}))
    assert fixed[0].out_features == 8


def test_floor_division_by_a_possible_zero():
    w = dnas.ValueChoice([4, 8], label="w")
    with pytest.raises(ValueError, match=r"w // 0: the divisor can be 0"):
        w // 0
    z = dnas.ValueChoice([0, 2], label="z")
    with pytest.raises(ValueError, match=r"w // z: the divisor can be 0"):
        w // z


@pytest.mark.parametrize("build,match", [
    (lambda: dnn.Linear(4, 3, bias="no"), r"bias='no' must be True or False"),
    (lambda: dnn.Conv2d(3, 8, 3, bias="no"), r"bias='no' must be True or False"),
    (lambda: dnn.BatchNorm2d(4, affine="no"), r"affine='no' must be True or False"),
    (lambda: dnn.BatchNorm2d(4, track_running_stats=None),
     r"track_running_stats=None must be True or False"),
])
def test_flags_must_be_booleans(build, match):
    with pytest.raises(TypeError, match=match):
        build()


@pytest.mark.parametrize("kw,match", [
    ({"eps": -1}, r"eps=-1 must be a finite number > 0"),
    ({"eps": float("nan")}, r"eps=nan must be"),
    ({"momentum": 2}, r"momentum=2 must be a number in \[0, 1\] or None"),
    ({"momentum": float("nan")}, r"momentum=nan must be"),
])
def test_batch_norm_numbers(kw, match):
    with pytest.raises(ValueError, match=match):
        dnn.BatchNorm2d(4, **kw)


def test_even_kernel_with_a_residual():
    with pytest.raises(ValueError, match=r"kernel_size=4 must be odd .* residual"):
        dnn.InvertedResidual(8, 8, 4, 2)
    block = dnn.InvertedResidual(8, 16, 4, 2)  # no residual: an even kernel is fine
    assert block(torch.randn(1, 8, 6, 6)).shape[1] == 16


def test_messages_name_a_choice_by_its_label():
    k = dnas.ValueChoice([3, 4], label="k")
    with pytest.raises(ValueError, match=r"^kernel_size=k can take the value 4; it must be an odd"):
        dnn.Conv2d(3, 8, kernel_size=k)
    d = dnas.ValueChoice([1.5, 2], label="d")
    with pytest.raises(ValueError, match=r"^depth=d can take the value 1.5"):
        dnas.Repeat(lambda i: torch.nn.Identity(), d)
