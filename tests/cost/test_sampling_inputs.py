"""Hostile input to dnas.cost.sample_in_band: one clear error naming the parameter and the value,
before any architecture is drawn."""

import numpy as np
import pytest
import torch

from dnas.cost import CostModel, sample_in_band
from dnas.runtime.checks import ParameterError
from tests.cost.helpers import small_space


@pytest.fixture(scope="module")
def cost_model():
    return CostModel(small_space(1), "params")


def _gen():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("args,kw,error,match", [
    (("0", 1e9), {}, ParameterError, r"^low='0' must be a finite number >= 0"),
    ((0, "1e9"), {}, ParameterError, r"^high='1e9' must be a number >= 0"),
    ((float("nan"), 10), {}, ValueError, r"^low=nan must be a finite number >= 0"),
    ((-1, 10), {}, ValueError, r"^low=-1 must be a finite number >= 0"),
    ((10, 5), {}, ValueError, r"^low=10 must be <= high=5: the band \[low, high\] is empty"),
    ((0, 1e9), {"restarts": -1}, ValueError, r"^restarts=-1 must be an integer >= 0"),
    ((0, 1e9), {"restarts": 1.5}, ParameterError, r"^restarts=1.5 must be an integer >= 0"),
    ((0, 1e9), {"steps": -1}, ValueError, r"^steps=-1 must be an integer >= 0"),
    ((0, 1e9), {"steps": "5"}, ParameterError, r"^steps='5' must be an integer >= 0"),
])
def test_band_and_counts(cost_model, args, kw, error, match):
    with pytest.raises(error, match=match):
        sample_in_band(cost_model, *args, _gen(), **kw)


@pytest.mark.parametrize("generator,shown", [
    (0, "0"), (np.random.default_rng(0), "Generator"), ("seed", "'seed'"),
])
def test_generator_must_be_torch(cost_model, generator, shown):
    with pytest.raises(TypeError, match=rf"^generator={shown}.* must be a torch.Generator"):
        sample_in_band(cost_model, 0, 1e9, generator)


def test_cost_model_must_be_a_cost_model():
    with pytest.raises(TypeError, match=r"^cost_model must be a dnas.cost.CostModel, got str"):
        sample_in_band("params", 0, 1e9, _gen())


def test_numpy_bounds_and_an_open_band(cost_model):
    a = sample_in_band(cost_model, np.float64(0), np.int64(10**9), _gen(), steps=np.int64(5))
    b = sample_in_band(cost_model, 0.0, 1e9, _gen(), steps=5)
    assert a == b and a.meta["band"] == [0.0, 10**9] and type(a.meta["band"][1]) is int
    assert sample_in_band(cost_model, 0, float("inf"), _gen(), steps=5).meta["band"][1] == np.inf
