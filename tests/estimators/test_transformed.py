"""Laws additive after a transformation of y (dnas.estimators.transformed), the redundant
constants held before snapping, and π² as a simple constant of noise-free data."""

import numpy as np
import pytest
import torch

from dnas import DARTSRegressor
from dnas.estimators.fitting import Evaluator, simple_values
from dnas.estimators.laws import DataLaws
from dnas.estimators.transformed import transformed_law, transformed_start
from dnas.spaces.expression import ExpressionNetwork
from dnas.spaces.expression.primitives import DEFAULT_PRIMITIVES


def _box(lo, hi, n=200, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, (n, len(lo)))


@pytest.mark.parametrize("name, law, lo, hi, transform, n_nodes", [
    ("hypotenuse", lambda X: np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2), [-3, -3], [3, 3], "square", 2),
    ("power of an input", lambda X: X[:, 0] ** X[:, 1], [0.1, 0.1], [1, 1], "ln", 2),
    ("sum of logarithms", lambda X: np.log(X[:, 0] + 1) + np.log(X[:, 0] ** 2 + 1), [0], [2],
     "exp", 3),
    ("parallel resistors", lambda X: 1 / (1 / X[:, 0] + 1 / X[:, 1]), [1, 1], [5, 5],
     "reciprocal", 2),
    ("negative root", lambda X: -np.sqrt(X[:, 0] + 2 * X[:, 1]), [1, 1], [5, 5], "square", 2),
])
def test_each_transformation_gives_an_exact_start(name, law, lo, hi, transform, n_nodes):
    X = _box(lo, hi)
    y = law(X)
    found = transformed_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    assert found is not None and found.transform.name == transform, name
    assert found.n_nodes == n_nodes and found.mse < 1e-20 * np.var(y)
    np.testing.assert_allclose(found.predict(X), y, rtol=1e-9)
    torch.manual_seed(0)
    net = ExpressionNetwork(X.shape[1], 3).double()
    architecture, outputs, init = transformed_start(net, found)
    assert outputs == tuple(j == n_nodes for j in range(1, 4))
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, True, init, outputs).mse < 1e-20 * np.var(y)
    assert transformed_start(ExpressionNetwork(X.shape[1], n_nodes - 1).double(), found) is None


def test_no_transformation_is_claimed_where_none_is_exact():
    X = _box([1, 1, 1], [5, 5, 5])
    y = (X[:, 2] + X[:, 1]) / (1 + X[:, 2] * X[:, 1] / X[:, 0] ** 2)  # relativistic addition
    assert transformed_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3) is None
    noisy = np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2)
    noisy = noisy + np.random.default_rng(1).normal(0, 0.01 * noisy.std(), len(noisy))
    assert transformed_law(X, noisy, DEFAULT_PRIMITIVES, max_nodes=3) is None
    # solved only where the direct families have no exact law
    assert DataLaws(X, X[:, 0] * X[:, 1], DEFAULT_PRIMITIVES, 3).transformed is None


def test_pi_squared_is_simple_only_to_a_millionth():
    assert np.pi**2 in simple_values(np.pi**2 * (1 + 1e-9))
    assert np.pi**2 not in simple_values(np.pi**2 * (1 + 1e-4))  # noise: not a constant of nature
    assert 4 * np.pi in simple_values(4 * np.pi * (1 - 1e-8))


def test_a_root_of_a_difference_is_recovered_with_pi_squared_and_unit_scales():
    X = np.column_stack([_box([4], [6])[:, 0], _box([1], [2], seed=1)[:, 0],
                         _box([2], [4], seed=2)[:, 0]])
    y = np.sqrt(X[:, 0] ** 2 / X[:, 1] ** 2 - np.pi**2 / X[:, 2] ** 2)  # Feynman II.24.17
    est = DARTSRegressor(random_state=0).fit(X, y)
    # the outer scale and the root's inner scale are redundant: held at 1, the constant inside is
    # π² itself (without the hold it read 5·√(0.36·x1²/x2² - 3.553/x3²)/3)
    assert str(est.equation_) == "sqrt(x1**2/x2**2 - pi**2/x3**2)", est.equation_
    assert est.n_epochs_ == 0
