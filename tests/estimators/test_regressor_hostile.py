"""More hostile input to DARTSRegressor (see test_regressor_inputs.py for the basic cases): text
or missing targets, parameters that used to pass or raise from deep inside, model_repr's
arguments. One clear error naming the parameter and the value; fits are tiny."""

import numpy as np
import pytest

from dnas import DARTSRegressor
from dnas.runtime.checks import ParameterError

TINY = dict(max_epochs=1, param_updates_per_epoch=5, arch_updates_per_epoch=5, refine=False,
            param_updates_for_sampled_model=5, primitives=("none", "add", "mult"),
            num_graph_nodes=1, random_state=0)


def data(n=12):
    X = np.random.default_rng(0).uniform(0.5, 2, (n, 2))
    return X, 2 * X[:, 0] + X[:, 1]


@pytest.fixture(scope="module")
def fitted():
    return DARTSRegressor(**TINY).fit(*data())


@pytest.mark.parametrize("make_y,match", [
    (lambda y: np.array(["a"] * len(y)), r"^y must hold numbers: could not convert string .*'a'"),
    (lambda y: np.array([None] * len(y)), r"Input y contains NaN"),
    (lambda y: [None, *y[1:].tolist()], r"Input y contains NaN"),
])
def test_targets_that_are_not_numbers(make_y, match):
    X, y = data()
    with pytest.raises(ValueError, match=match):
        DARTSRegressor(**TINY).fit(X, make_y(y))


def test_numeric_text_targets_are_numbers():
    X, y = data()
    a = DARTSRegressor(**TINY).fit(X, y.astype(str)).predict(X)
    assert np.allclose(a, DARTSRegressor(**TINY).fit(X, y).predict(X))


@pytest.mark.parametrize("param,value,error,match", [
    ("refine", 2, ParameterError, r"^refine=2 must be True or False \(or 0 or 1\)"),
    ("train_classifier_bias", np.int64(3), ParameterError,
     r"^train_classifier_bias=np.int64\(3\) must be True or False"),
    ("node_ops", 5, ValueError, r"^node_ops=5 must be a list of names from \('add'"),
    ("node_ops", [["add"]], ValueError, r"^node_ops=\[\['add'\]\] must be distinct names"),
    ("primitives", [["add"]], ValueError, r"unknown primitive\(s\) \[\['add'\]\] in primitives"),
    ("random_state", "abc", ParameterError,
     r"^random_state='abc' must be None, an integer in \[0, 4294967295\] or a "
     r"numpy.random.RandomState"),
    ("random_state", -1, ValueError, r"^random_state=-1 must be None, an integer"),
    ("random_state", True, ParameterError, r"^random_state=True must be None, an integer"),
])
def test_parameters_checked_at_fit(param, value, error, match):
    with pytest.raises(error, match=match):
        DARTSRegressor(**{**TINY, param: value}).fit(*data())


def test_zero_one_flags_and_numpy_seeds_still_pass():
    X, y = data()
    DARTSRegressor(**{**TINY, "refine": np.int64(0), "train_classifier_bias": 1,
                      "random_state": np.int64(3)}).fit(X, y)
    DARTSRegressor(**{**TINY, "random_state": np.random.RandomState(0)}).fit(X, y)


@pytest.mark.parametrize("kw,error,match", [
    ({"input_labels": "ab"}, ParameterError,
     r"^input_labels='ab' must be a list of names \(one per column\)"),
    ({"input_labels": [1, 2]}, ParameterError, r"^input_labels=\[1, 2\] must be a list of names"),
    ({"output_labels": 5}, ParameterError, r"^output_labels=5 must be a list of names"),
    ({"decimals_to_display": "2"}, ParameterError,
     r"^decimals_to_display='2' must be an integer >= 0"),
    ({"decimals_to_display": -1}, ValueError, r"^decimals_to_display=-1 must be an integer >= 0"),
    ({"output_format": "html"}, ValueError,
     r"^output_format='html' must be one of 'console', 'latex'"),
    ({"output_function_label": 3}, ParameterError, r"^output_function_label=3 must be text"),
])
def test_model_repr_arguments(fitted, kw, error, match):
    with pytest.raises(error, match=match):
        fitted.model_repr(**kw)
    assert fitted.model_repr(input_labels=["a", "b"], output_labels=["z"]).startswith("Model:")
