"""The residual-noise test (Moran's z over nearest neighbours) that stops DARTSRegressor's growth on
noisy data, and what it changes: the closed-form laws exact to the noise, and the look-ahead."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy

from dnas import DARTSRegressor
from dnas.estimators.laws import DataLaws
from dnas.estimators.noise import MAX_ROWS, NOISE_Z, is_noise, residual_z
from dnas.spaces.expression.primitives import DEFAULT_PRIMITIVES


@pytest.mark.parametrize("d", [1, 2, 3])
def test_pure_noise_scores_like_a_standard_normal(d):
    rng = np.random.default_rng(d)
    z = np.array([residual_z(rng.uniform(-1, 1, (200, d)), rng.standard_normal(200))
                  for _ in range(200)])
    assert abs(z.mean()) < 0.25 and 0.75 < z.std() < 1.25
    assert (z >= NOISE_Z).mean() < 0.06  # one-sided 2.3 % nominal


def test_a_systematic_error_of_a_fifth_of_the_noise_is_detected():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(40):
        X = rng.uniform(-1, 1, (200, 2))
        s = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
        s = (s - s.mean()) / s.std() * math.sqrt(0.2)
        hits += not is_noise(X, s + rng.standard_normal(200))
    assert hits >= 36
    X = rng.uniform(-1, 1, (200, 1))
    assert residual_z(X, np.sin(5 * X[:, 0])) > 20  # a smooth residual: far from noise


def test_neighbours_are_found_on_ranks_so_a_monotone_change_of_an_input_changes_nothing():
    rng = np.random.default_rng(3)
    X = rng.uniform(0.1, 10, (150, 2))
    r = np.log(X[:, 0]) + 0.3 * rng.standard_normal(150)
    a = residual_z(X, r)
    b = residual_z(np.column_stack([np.log(X[:, 0]), X[:, 1] ** 3]), r)
    assert a == pytest.approx(b) and a > 5


def test_undefined_cases_are_nan_and_never_taken_for_noise():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 2))
    assert math.isnan(residual_z(X[:5], rng.standard_normal(5)))  # fewer rows than neighbours
    assert math.isnan(residual_z(X, np.full(200, 3.0)))  # nothing left: no residual to test
    bad = rng.standard_normal(200)
    bad[7] = np.nan
    assert math.isnan(residual_z(X, bad))
    assert not is_noise(X, bad)


def test_bad_input_is_refused_with_the_parameter_named():
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match=r"one row per residual.*\(10, 2\).*9 values"):
        residual_z(X, np.zeros(9))
    for k in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            residual_z(X, np.arange(10.0), k=k)
    assert math.isnan(residual_z(np.zeros((30, 0)), np.arange(30.0)))  # no input column


def test_duplicated_rows_and_more_rows_than_the_cap():
    rng = np.random.default_rng(1)
    X = np.repeat(rng.uniform(size=(100, 1)), 3, axis=0)  # every input three times
    assert abs(residual_z(X, rng.standard_normal(300))) < 4
    assert residual_z(X, np.sin(6 * X[:, 0]) + 0.1 * rng.standard_normal(300)) > 10
    big = rng.uniform(size=(MAX_ROWS + 3000, 2))
    z = residual_z(big, rng.standard_normal(len(big)))
    assert np.isfinite(z) and abs(z) < 4


def test_a_power_law_fits_noisy_data_to_the_noise_without_a_spurious_factor():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (200, 3))
    y = X[:, 0] * X[:, 1] * X[:, 2]
    y = y + 0.01 * np.sqrt(np.mean(y**2)) * rng.standard_normal(200)
    laws = DataLaws(X, y, tuple(DEFAULT_PRIMITIVES), 3)
    assert laws.factored is not None and laws.factored.term is None  # no factor fitted to noise
    np.testing.assert_allclose(sorted(laws.factored.exponents.values()), [1, 1, 1], atol=0.02)
    assert id(laws.factored) in laws.noise_fits
    assert laws.first_size() == laws.factored.n_nodes == 2


def test_a_noisy_fit_stops_growing_with_a_look_ahead_that_finds_the_simpler_law():
    # x³ + x² + x with 1 % noise: one node fits it to the noise with a stand-in (a sine of large
    # amplitude and a cube), so only a simpler equation of two nodes can win: the look-ahead (no
    # relaxed search; the laws and the one-node equation carried over and composed) finds it
    rng = np.random.default_rng(1003)
    X = rng.uniform(-1, 1, (200, 1))
    y = X[:, 0] ** 3 + X[:, 0] ** 2 + X[:, 0]
    y = y + 0.01 * np.sqrt(np.mean(y**2)) * rng.standard_normal(200)
    est = DARTSRegressor(random_state=0).fit(X, y)
    report = est.search_report_
    assert report[0]["residual_z"] < NOISE_Z
    assert all(r["epochs"] == 0 for r in report[1:])  # looked ahead to, not searched
    assert report[1]["kept"]
    x = sympy.Symbol("x1", real=True)
    assert sympy.expand(est.equation_ - (x**3 + x**2 + x)) == 0


def test_a_look_ahead_spends_its_own_smaller_budget(monkeypatch):
    # x1·x2·x3 with 1 % noise: the product law fits the two-node graph to the noise, so the
    # three-node graph is only looked ahead to: its short fits (the laws' refinements, then the
    # compositions of the two-node equation and theirs) stop by LOOKAHEAD_FITS, not QUICK_FITS
    from dnas.estimators import darts_regressor

    spent = {"refine": 0, "composed_starts": 0}

    def counted(name):
        inner = getattr(darts_regressor, name)

        def call(evaluate, *args, **kwargs):
            before = evaluate.fits
            out = inner(evaluate, *args, **kwargs)
            if evaluate.network.n_nodes == 3:
                spent[name] += evaluate.fits - before
            return out
        return call

    for name in spent:
        monkeypatch.setattr(darts_regressor, name, counted(name))
    rng = np.random.default_rng(1013)
    X = rng.uniform(1, 5, (200, 3))
    y = X[:, 0] * X[:, 1] * X[:, 2]
    y = y + 0.01 * np.sqrt(np.mean(y**2)) * rng.standard_normal(200)
    est = DARTSRegressor(random_state=0).fit(X, y)
    report = est.search_report_
    assert [(r["n_nodes"], r["epochs"], r["kept"]) for r in report] == [(2, 0, True),
                                                                     (3, 0, False)]
    assert spent["refine"] > 0  # (the old look-ahead spent ~2,000 here)
    assert sum(spent.values()) <= darts_regressor.LOOKAHEAD_FITS < darts_regressor.QUICK_FITS
    x1, x2, x3 = sympy.symbols("x1 x2 x3", real=True)
    assert sympy.simplify(est.equation_ - x1 * x2 * x3) == 0


def test_a_structured_residual_keeps_the_search_growing():
    X = np.random.default_rng(2).uniform(-1, 1, (150, 2))
    y = np.sin(2 * X[:, 0] * X[:, 1]) + X[:, 0] ** 2 * X[:, 1]
    est = DARTSRegressor(primitives=["none", "add", "mult", "sin"], max_epochs=3,
                         random_state=0).fit(X, y)
    first = est.search_report_[0]
    assert first["residual_z"] >= NOISE_Z and est.search_report_[1]["epochs"] > 0


_SCRIPT = """
import numpy as np, torch
torch.set_num_threads(1)
from dnas import DARTSRegressor
rng = np.random.default_rng(1000)
X = rng.uniform(1, 5, (200, 2))
y = X[:, 0] / (2 * (1 + X[:, 1]))
y = y + 0.01 * np.sqrt(np.mean(y ** 2)) * rng.standard_normal(200)
print(DARTSRegressor(random_state=0).fit(X, y).equation_)
"""


def test_the_same_fit_gives_the_same_equation_in_other_processes():
    # the processes differ in string hashing and in memory layout (the last bits of NumPy's and
    # BLAS's sums): ties between equal equations must not be broken by either
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", _SCRIPT], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**env, "PYTHONHASHSEED": str(seed)})
             for seed in (1, 2, 3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    equations = {out.strip() for out, _ in outs}
    assert len(equations) == 1, equations
    # and it is the law: the three-node look-ahead finds it from the simplest closed-form law
    # (the two-node graph fits the noise with x1·sin(0.1·x2 - 0.03)/x2^1.84)
    x1, x2 = sympy.symbols("x1 x2")
    assert sympy.simplify(sympy.sympify(equations.pop()) - x1 / (2 * (1 + x2))) == 0


def test_without_the_refinement_a_noisy_fit_stops_growing_at_once(monkeypatch):
    # the look-ahead is a discrete search from the laws: without refine there is none to run.
    # Every residual is taken for noise here, so only the growth logic is under test
    from dnas.estimators import darts_regressor

    monkeypatch.setattr(darts_regressor, "residual_z", lambda X, r: 0.0)
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (120, 2))
    y = np.sin(2 * X[:, 0] * X[:, 1]) + 0.05 * rng.standard_normal(120)
    small = dict(primitives=["none", "add", "mult", "sin"], max_epochs=3, random_state=0)
    plain = DARTSRegressor(refine=False, **small).fit(X, y)
    assert [r["n_nodes"] for r in plain.search_report_] == [1]
    looked = DARTSRegressor(**small).fit(X, y)
    assert len(looked.search_report_) > 1
    assert all(r["epochs"] == 0 for r in looked.search_report_[1:])
