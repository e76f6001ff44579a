"""Saturating laws c/(1 + g) as starts of the discrete search (dnas.estimators.saturating)."""

import numpy as np
import pytest
import torch

from dnas import DARTSRegressor
from dnas.estimators.fitting import Evaluator
from dnas.estimators.saturating import saturating_law, saturating_start
from dnas.spaces.expression import ExpressionNetwork


def _box(lo, hi, n=200, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, (n, len(lo)))


def test_a_logistic_of_a_linear_form_has_asymptote_one():
    X = _box([-3, -2], [3, 2])
    y = 1 / (1 + np.exp(-(1.5 * X[:, 0] - 0.5 * X[:, 1] + 0.3)))
    law = saturating_law(X, y)
    assert law.asymptote == 1.0 and law.powers == {}
    np.testing.assert_allclose([law.rates[0], law.rates[1]], [-1.5, 0.5], atol=1e-9)
    assert law.const == pytest.approx(np.exp(-0.3), rel=1e-9) and law.n_nodes == 2


def test_the_asymptote_is_searched_when_it_is_not_one():
    X = _box([0.2], [6])
    y = -4.2 * X[:, 0] ** 1.7 / (2.5 + X[:, 0] ** 1.7)  # a negative Hill law
    law = saturating_law(X, y)
    assert law.asymptote == pytest.approx(-4.2, rel=1e-9)
    assert law.powers[0] == pytest.approx(-1.7, abs=1e-9) and law.rates == {}
    assert law.mse < 1e-25 * np.var(y)


def test_no_law_for_values_of_both_signs_or_too_many_terms():
    X = _box([-1, -1, -1, -1], [1, 1, 1, 1])
    assert saturating_law(X, X[:, 0]) is None
    y = 1 / (1 + np.exp(X.sum(axis=1)))  # four exponential factors: no room in three nodes
    assert saturating_law(X, y) is None


def test_the_start_refits_exactly_and_needs_room():
    X = _box([1, 1, 1], [4, 4, 4])
    y = 2 / (1 + 0.5 * X[:, 0] * X[:, 1] ** -2 * np.exp(0.3 * X[:, 2]))
    law = saturating_law(X, y)
    assert law.n_nodes == 3
    assert saturating_start(ExpressionNetwork(3, 2).double(), law) is None
    torch.manual_seed(0)
    net = ExpressionNetwork(3, 3).double()
    architecture, outputs, init = saturating_start(net, law)
    assert outputs == (False, False, True) and architecture["k3_a_k2"] == ("linear_power",)
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, False, init, outputs).mse < 1e-20 * np.var(y)


def test_a_psychometric_function_is_fitted_without_a_search():
    X = _box([0, 0], [10, 10])
    y = 1 / (1 + np.exp(-0.8 * (X[:, 0] - X[:, 1])))  # choice between two stimuli
    est = DARTSRegressor(random_state=0).fit(X, y)
    assert est.n_epochs_ == 0 and est.search_report_[0]["n_nodes"] == 2
    np.testing.assert_allclose(est.predict(X), y, atol=1e-8)
