"""Hostile input to dnas.multiseed.search_seeds: one clear error naming the parameter and the
value, before any search runs (or, for a score, instead of a NaN mean)."""

import pytest
import torch

import dnas
from dnas.multiseed import search_seeds

X, Y = torch.randn(8, 3), torch.arange(8) % 2


def _build():
    return torch.nn.Sequential(torch.nn.Linear(3, 4),
                               dnas.LayerChoice([torch.nn.ReLU(), torch.nn.Tanh()], label="a"),
                               torch.nn.Linear(4, 2))


def _run(**kw):
    kw.setdefault("seeds", [0])
    return search_seeds(_build, (X, Y), (X, Y), epochs=1, batch_size=8, **kw)


@pytest.mark.parametrize("kw,match", [
    ({"seeds": "a"}, r"seeds='a' must be a list of distinct integers"),
    ({"seeds": 5}, r"seeds=5 must be a list of distinct integers"),
    ({"seeds": [1.5]}, r"seeds=1.5 must be an integer"),
    ({"seeds": [True]}, r"seeds=True must be an integer"),
    ({"seeds": ["1"]}, r"seeds='1' must be an integer"),
    ({"threads": 0}, r"threads=0 must be an integer >= 1 or None"),
    ({"threads": "a"}, r"threads='a' must be an integer >= 1 or None"),
    ({"score": 3}, r"score=3 must be a callable"),
    ({"table": 5}, r"table=5 must be a dnas.bench.Table"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        _run(**kw)


def test_a_nan_score():
    with pytest.raises(ValueError, match=r"score\(architecture\)=nan must be a finite number"):
        _run(score=lambda arch: float("nan"))
