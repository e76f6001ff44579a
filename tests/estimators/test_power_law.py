"""Power laws as starts of the discrete search (dnas.estimators.monomial): the log-space solve,
the chain of products it becomes in the graph, and the regressor that skips what cannot help."""

import numpy as np
import pytest
import sympy
import torch

from dnas import DARTSRegressor
from dnas.estimators.factored import factored_law
from dnas.estimators.fitting import Evaluator
from dnas.estimators.monomial import power_law, power_law_start
from dnas.spaces.expression import ExpressionNetwork


def _data(n=150, seed=0):
    return np.random.default_rng(seed).uniform(1, 5, (n, 4))


def test_the_log_space_solve_finds_the_exponents_strongest_first():
    X = _data()
    y = -0.3 * X[:, 0] * X[:, 2] ** -2 * X[:, 3] ** 0.5
    c, exponents = power_law(X, y)
    assert c == pytest.approx(-0.3, rel=1e-10)
    assert list(exponents) == [2, 0, 3]  # x2 plays no part; |p|·spread of ln x orders the rest
    np.testing.assert_allclose([exponents[i] for i in (0, 2, 3)], [1, -2, 0.5], atol=1e-10)


def test_no_power_law_where_the_target_vanishes_on_many_rows():
    X = _data()
    y = np.where(X[:, 0] > 3, 0.0, X[:, 0])
    assert power_law(X, y) is None
    assert power_law_start(ExpressionNetwork(4, 2).double(), X, y) is None


def test_a_factor_that_changes_sign_leaves_the_other_exponents_right():
    X = np.random.default_rng(0).uniform([1, 1, 0], [5, 5, 5], (2000, 3))
    c, exponents = power_law(X, X[:, 0] * X[:, 1] ** 2 * np.sin(X[:, 2]))  # Feynman I.18.12-like
    assert c > 0 and {0, 1} <= set(exponents)
    np.testing.assert_allclose([exponents[0], exponents[1]], [1, 2], atol=0.1)


def test_no_power_law_of_inputs_that_are_not_positive():
    X = _data() - 3.0  # every column takes both signs
    assert power_law(X, np.exp(X[:, 0])) is None


def test_the_start_is_a_chain_of_products_that_fits_exactly():
    X = _data()[:, :3]
    y = X[:, 0] / (4 * np.pi * X[:, 1] * X[:, 2] ** 2)  # Feynman I.12.4: three factors
    torch.manual_seed(0)
    net = ExpressionNetwork(3, 2).double()
    architecture, outputs, init = power_law_start(net, X, y)
    assert outputs == (False, True)  # k1 = x3^-2 · x_i (hidden), k2 = k1 · x_j^±1
    assert architecture["k1_op"] == ("mul",) and architecture["k2_op"] == ("mul",)
    assert architecture["k2_a_k1"] == ("mult",)
    powers = sorted(label for label, names in architecture.items() if names == ("power",))
    assert powers[0] == "k1_a_x3"  # the strongest factor first
    assert sorted(p[-2:] for p in powers[1:]) == ["x1", "x2"] and powers[1].startswith("k1_b")
    evaluate = Evaluator(net, X, y, "real", max_iter=50, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, False, init, outputs).mse < 1e-25 * np.var(y)
    # a one-node graph holds the two strongest factors only: a start, not the law
    small = ExpressionNetwork(3, 1).double()
    architecture, outputs, _ = power_law_start(small, X, y)
    assert sum(names == ("power",) for names in architecture.values()) == 2


def test_an_exact_power_law_skips_the_graphs_too_small_for_it_and_the_search():
    X = _data()[:, :3]
    y = 3 * X[:, 0] ** 2 / (20 * np.pi * X[:, 1] * X[:, 2])  # Feynman II.8.7
    est = DARTSRegressor(random_state=0).fit(X, y)
    assert [r["n_nodes"] for r in est.search_report_] == [2]
    assert est.n_epochs_ == 0  # exact before any search: nothing to search for
    x1, x2, x3 = sympy.symbols("x1 x2 x3", real=True)
    ratio = sympy.simplify(est.equation_ / (x1**2 / (x2 * x3)))
    assert ratio.is_number and float(ratio) == pytest.approx(3 / (20 * np.pi), rel=1e-3)


def test_a_noisy_power_law_fits_to_the_noise_unsearched_and_is_recovered():
    # no law is exact on noisy data, but this one leaves only noise (dnas.estimators.noise): the
    # relaxed search cannot find anything better and is skipped, as for an exact law
    rng = np.random.default_rng(1)
    X = _data(200)[:, :2]
    law = 1.5 * X[:, 0] * X[:, 1] ** 2
    y = law + 0.01 * np.sqrt(np.mean(law**2)) * rng.standard_normal(len(law))
    est = DARTSRegressor(random_state=0).fit(X, y)
    first = est.search_report_[0]
    assert first["n_nodes"] == 1 and first["epochs"] == 0 and first["residual_z"] < 2
    x1, x2 = sympy.symbols("x1 x2", real=True)
    ratio = sympy.simplify(est.equation_ / (x1 * x2**2))
    assert ratio.is_number, est.equation_


def test_an_exact_power_law_is_its_own_factored_law_and_noise_is_not_exact():
    X = _data()[:, :3]
    y = 2 * X[:, 0] * X[:, 1] ** -1 * X[:, 2] ** 0.5
    floor = 1e-9 * np.var(y)
    law = factored_law(X, y)
    assert law.term is None and len(law.exponents) == 3 and law.n_nodes == 2
    assert law.mse <= floor
    noisy = y * (1 + 0.01 * np.random.default_rng(0).standard_normal(len(y)))
    assert factored_law(X, noisy).mse > floor
    assert factored_law(X, X[:, 0] + np.exp(X[:, 1])).mse > floor  # no factored law
    # x1 + x2 is one, though: x2·(1 + x1/x2)
    assert factored_law(X, X[:, 0] + X[:, 1]).mse <= floor
