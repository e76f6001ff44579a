"""Value checks: one message style naming the parameter, the value and what is allowed; finite
numbers, float32-sized rates, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dnas
from dnas.runtime.checks import (
    FLOAT32_MAX,
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from dnas.train import RetrainConfig


def test_int_accepts_integers_in_range_and_returns_them():
    assert check_int("n", 3, 1) == 3
    assert check_int("n", np.int64(3), 1, 5) == 3
    assert check_int("n", None, 1, none_ok=True) is None
    assert check_int("seed", -7) == -7


@pytest.mark.parametrize(("value", "kwargs", "message", "kind"), [
    (0, {"low": 1}, "n=0 must be an integer >= 1", ValueError),
    (6, {"low": 1, "high": 5}, r"n=6 must be an integer in \[1, 5\]", ValueError),
    (True, {"low": 0}, "n=True must be an integer >= 0", ParameterError),
    (2.0, {"low": 0}, "n=2.0 must be an integer >= 0", ParameterError),
    ("3", {}, "n='3' must be an integer$", ParameterError),
    (None, {"low": 1}, "n=None must be an integer >= 1$", ParameterError),
    (-1, {"low": 0, "none_ok": True}, "n=-1 must be an integer >= 0 or None", ValueError),
])
def test_int_refusals(value, kwargs, message, kind):
    with pytest.raises(kind, match=message):
        check_int("n", value, **kwargs)


def test_wrong_kind_is_both_value_and_type_error():
    with pytest.raises(ValueError):
        check_int("n", "x")
    with pytest.raises(TypeError):
        check_float("x", "x")
    with pytest.raises(ValueError) as info:
        check_int("n", -1, 0)
    assert not isinstance(info.value, TypeError)  # out of range is not a type problem


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (-0.1, {"low": 0}, r"x=-0.1 must be a finite number >= 0"),
    (0, {"low": 0, "low_open": True}, r"x=0 must be a finite number > 0"),
    (1.0, {"low": 0, "high": 1, "high_open": True}, r"x=1.0 must be a number in \[0, 1\)"),
    (0.0, {"low": 0, "high": 1, "low_open": True}, r"x=0.0 must be a number in \(0, 1\]"),
    (math.nan, {}, r"x=nan must be a finite number"),
    (math.inf, {"low": 0}, r"x=inf must be a finite number >= 0"),
    (True, {}, r"x=True must be a finite number"),
    (2, {"high": 1}, r"x=2 must be a finite number <= 1"),
])
def test_float_refusals(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_float("x", value, **kwargs)


def test_float_accepts_ints_numpy_and_none_when_allowed():
    assert check_float("x", 1, 0) == 1
    assert check_float("x", np.float32(0.5), 0, 1) == np.float32(0.5)
    assert check_float("x", None, none_ok=True) is None


def test_choice():
    assert check_choice("amp", "off", ("auto", "bf16", "off")) == "off"
    assert check_choice("order", 2, (1, 2)) == 2
    with pytest.raises(ValueError, match="amp='fp8' must be one of 'auto', 'bf16', 'off'"):
        check_choice("amp", "fp8", ("auto", "bf16", "off"))
    with pytest.raises(ValueError, match="order=True must be one of 1, 2"):
        check_choice("order", True, (1, 2))  # a bool is not an order
    with pytest.raises(ValueError, match=r"order=\[1\] must be one of 1, 2"):
        check_choice("order", [1], (1, 2))
    with pytest.raises(ValueError, match="must be one of"):
        check_choice("x", np.array([1, 2]), (1, 2))  # elementwise comparison is no match


def test_bool():
    assert check_bool("flip", True) is True
    assert check_bool("flip", np.bool_(False)) is False
    with pytest.raises(ParameterError, match="flip=1 must be True or False"):
        check_bool("flip", 1)
    with pytest.raises(ParameterError, match="flip='yes' must be True or False"):
        check_bool("flip", "yes")


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 10**400])
def test_check_float_refuses_non_finite(bad):
    with pytest.raises(ValueError, match=r"^x=.* must be a finite number >= 0$"):
        check_float("x", bad, 0)


def test_check_float_may_allow_infinity_explicitly():
    assert check_float("limit", math.inf, 0, finite=False) == math.inf
    with pytest.raises(ValueError, match="must be a number"):
        check_float("limit", math.nan, 0, finite=False)


def test_wrong_kind_is_a_parameter_error_naming_the_value():
    with pytest.raises(ParameterError, match=r"^w_lr='0.1' must be a finite number >= 0$"):
        check_float("w_lr", "0.1", 0)
    with pytest.raises(ParameterError, match=r"^epochs=2.0 must be an integer >= 1$"):
        check_int("epochs", 2.0, 1)


@pytest.mark.parametrize("bad", [-1, 2**32, 10**23])
def test_seeds_fit_every_generator(bad):
    with pytest.raises(ValueError, match=rf"^seed={bad} must be an integer in \[0, 4294967295\]"):
        check_seed("seed", bad)
    assert check_seed("seed", 2**32 - 1) == 2**32 - 1


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("w_lr", math.inf, "w_lr=inf must be a number in [0, 3.40282e+38]"),
        ("arch_lr", 1e300, "arch_lr=1e+300 must be a number in [0, 3.40282e+38]"),
        ("w_weight_decay", -1.0, "w_weight_decay=-1.0 must be"),
        ("w_momentum", 5.0, "w_momentum=5.0 must be a number in [0, 1]"),
        ("grad_clip", math.inf, "grad_clip=inf must be"),
        ("seed", -1, "seed=-1 must be an integer in [0, 4294967295] or None"),
        ("epochs", 0, "epochs=0 must be an integer >= 1"),
    ],
)
def test_search_config_ranges(field, value, needle):
    with pytest.raises(ValueError) as err:
        dnas.SearchConfig(**{field: value})
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("lr", math.inf, "lr=inf must be a number in [0, 3.40282e+38]"),
        ("lr", 1e300, "lr=1e+300 must be"),
        ("momentum", 2.0, "momentum=2.0 must be a number in [0, 1]"),
        ("seed", 2**40, "seed=1099511627776 must be an integer in [0, 4294967295]"),
        ("epochs", 0, "epochs=0 must be an integer >= 1"),
    ],
)
def test_retrain_config_ranges(field, value, needle):
    with pytest.raises(ValueError) as err:
        RetrainConfig(**{field: value})
    assert needle in str(err.value)


def test_float32_max_is_the_float32_limit():
    assert torch.finfo(torch.float32).max == FLOAT32_MAX


def test_check_mapping():
    from dnas.runtime.checks import check_mapping

    options = {"a": 1, "b": [0.5, {"c": "x"}]}
    assert check_mapping("opts", options) == options
    for bad, match in (([1], r"opts=\[1\] must be a mapping"),
                       ({1: 2}, "must be a mapping with text keys"),
                       ({"a": [1.0, math.nan]}, r"opts\['a'\]\[1\]=nan must be a finite number")):
        with pytest.raises(ValueError, match=match):
            check_mapping("opts", bad)
