"""Hostile input to the cost model and to a budgeted search's options: one clear error naming the
parameter and the value, raised before any training."""

import pytest
import torch

import dnas
from dnas.cost import CostModel
from tests.cost.helpers import small_space


def test_cost_model_needs_a_module():
    with pytest.raises(TypeError, match=r"model must be an nn.Module .* got str"):
        CostModel("net", "params")


@pytest.mark.parametrize("kw,match", [
    ({"max_combinations": 0}, r"max_combinations=0 must be an integer >= 1"),
    ({"max_combinations": "a"}, r"max_combinations='a' must be an integer >= 1"),
    ({"max_combinations": 1.5}, r"max_combinations=1.5 must be an integer >= 1"),
    ({"max_combinations": True}, r"max_combinations=True must be an integer >= 1"),
    ({"calibrate": -1}, r"calibrate=-1 must be an integer >= 0"),
])
def test_cost_model_counts(kw, match):
    with pytest.raises(ValueError, match=match):
        CostModel(small_space(1), "params", **kw)


def _config(**kw):
    return dnas.SearchConfig(cost="params", budget=100.0, **kw)


@pytest.mark.parametrize("options,match", [
    ({"max_combinations": "a"}, r"cost_options\['max_combinations'\]='a' must be an integer >= 1"),
    ({"max_combinations": 0}, r"cost_options\['max_combinations'\]=0 must be an integer >= 1"),
    ({"latency_calibrate": -1}, r"cost_options\['latency_calibrate'\]=-1 must be an integer >= 0"),
    ({"latency_repeats": 2.5}, r"cost_options\['latency_repeats'\]=2.5 must be an integer >= 1"),
])
def test_cost_options_are_checked_by_the_config(options, match):
    with pytest.raises(ValueError, match=match):
        _config(cost_options=options)


def test_cost_weight_beyond_float32():
    # once it meets the float32 loss it is inf, and the first α gradient NaN
    with pytest.raises(ValueError, match=r"cost_weight=1e\+300 must be a number in \[0, 3.4"):
        _config(cost_weight=1e300)
    assert _config(cost_weight=torch.finfo(torch.float32).max).cost_weight > 0
