"""Hostile input to the robust methods and DARTS-PT's selection options: one clear error naming
the option and the value, raised when the configuration is made (not after the search)."""

import pytest

import dnas
from dnas.robust import create


@pytest.mark.parametrize("name,options,match", [
    ("beta-darts", {"weight_end": "50"}, r"weight_end='50' must be a number in \[0, "),
    ("beta-darts", {"weight_start": float("inf")}, r"weight_start=inf must be a number in \[0, "),
    ("darts-minus", {"beta_start": None}, r"beta_start=None must be a number in \[0, "),
    ("sdarts-rs", {"epsilon_end": float("nan")}, r"epsilon_end=nan must be a number in \[0, "),
    ("sdarts-adv", {"epsilon_start": -0.1}, r"epsilon_start=-0.1 must be a number in \[0, "),
])
def test_robust_options(name, options, match):
    with pytest.raises(ValueError, match=match):
        create(name, **options)


@pytest.mark.parametrize("options,match", [
    ({"tune_step": 3}, r"unknown select_options \['tune_step'\]; valid: \['labels', "),
    ({"tune_steps": "3"}, r"select_options\['tune_steps'\]='3' must be an integer >= 0"),
    ({"tune_lr_factor": float("nan")}, r"select_options\['tune_lr_factor'\]=nan must be"),
    ({"labels": "a"}, r"select_options\['labels'\]='a' must be a list of labels"),
    ({"seed": -1}, r"select_options\['seed'\]=-1 must be an integer >= 0"),
])
def test_select_options_are_checked_by_the_config(options, match):
    with pytest.raises(ValueError, match=match):
        dnas.SearchConfig(select="perturbation", select_options=options)


def test_valid_select_options_pass():
    config = dnas.SearchConfig(select="perturbation",
                               select_options={"tune_steps": 2, "tune_lr_factor": 0.5,
                                               "labels": ["a"], "seed": 3})
    assert config.select_options["tune_steps"] == 2


@pytest.mark.parametrize("options,match", [
    ({"robust_options": {"epsilon_end": 0.1}},
     r"robust_options=\{'epsilon_end': 0.1\} need a robust method: set robust= one of "),
    ({"select_options": {"tune_steps": 3}},
     r"select_options=\{'tune_steps': 3\} are DARTS-PT's options: they need "
     r"select='perturbation'"),
    ({"robust": "sdarts-rs", "robust_options": {"bogus": 1}},
     r"bad options for robust='sdarts-rs': .*'bogus'"),
    ({"robust": "sdarts-rs", "robust_options": {"epsilon_end": -1.0}}, r"epsilon_end=-1.0 must"),
])
def test_options_nothing_would_read_or_bad_ones_raise_at_config_time(options, match):
    with pytest.raises(ValueError, match=match):
        dnas.SearchConfig(**options)
