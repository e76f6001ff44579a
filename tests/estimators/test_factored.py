"""Factored laws as starts of the discrete search (dnas.estimators.factored): the log-space solve
per candidate term, the graph it becomes, and the regressor that needs no search for an exact one.
"""

import numpy as np
import pytest
import sympy
import torch

from dnas import DARTSRegressor
from dnas.estimators.factored import Term, factored_law, factored_start
from dnas.estimators.fitting import Evaluator
from dnas.spaces.expression import ExpressionNetwork


def _box(lo, hi, n=200, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, (n, len(lo)))


def _evaluate(net, X, y, start):
    architecture, outputs, init = start
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    return evaluate(architecture, False, init, outputs).mse / np.var(y)


def test_a_power_law_times_a_shifted_power_of_a_squared_ratio():
    X = _box([1, 0, 1, 3], [4, 2, 3, 6])  # x2 < x4: 1 - (x2/x4)² > 0
    y = 2.5 * X[:, 0] / X[:, 2] * (1 - (X[:, 1] / X[:, 3]) ** 2) ** -1.5
    law = factored_law(X, y)
    assert law.term == Term(1, 3, 2) and [k for k, _ in law.outer] == ["minus"]
    assert law.outer[0][1] == pytest.approx(-1.5, abs=1e-9)
    assert set(law.exponents) == {0, 2}
    np.testing.assert_allclose([law.exponents[0], law.exponents[2]], [1, -1], atol=1e-9)
    assert law.const == pytest.approx(2.5, rel=1e-9)
    assert law.mse < 1e-20 * np.var(y) and law.n_nodes == 3  # t, then two products
    np.testing.assert_allclose(law.predict(X), y, rtol=1e-9)


def test_one_minus_t_where_t_exceeds_one_everywhere_is_read_as_t_minus_one():
    X = _box([1, 2], [3, 5])
    y = X[:, 0] / (X[:, 1] - 1)  # Feynman I.39.11's shape: 1 - x2 < 0 on every row
    law = factored_law(X, y)
    assert law.term == Term(1) and law.flipped and law.outer[0][0] == "minus"
    assert law.n_nodes == 1  # an input is its own term: no node for t
    np.testing.assert_allclose(law.predict(X), y, rtol=1e-9)


def test_an_exponential_of_a_square_and_a_signed_trigonometric_factor():
    X = _box([-2, 1], [2, 4])
    y = 0.8 * np.exp(-0.7 * X[:, 0] ** 2) / X[:, 1]  # x1 takes both signs: t = x1² is fine
    law = factored_law(X, y)
    assert law.term == Term(0, None, 2) and law.outer[0][0] == "exp"
    assert law.outer[0][1] == pytest.approx(-0.7, abs=1e-9)
    X = _box([1, 0], [3, 6])
    y = -1.2 * X[:, 0] * np.cos(X[:, 1])  # changes sign with cos x2
    law = factored_law(X, y)
    assert law.term == Term(1, unary="cos") and law.const == pytest.approx(-1.2, rel=1e-9)
    np.testing.assert_allclose(law.predict(X), y, rtol=1e-8, atol=1e-12)


def test_among_equally_exact_laws_the_smallest_graph_wins():
    X = _box([3, 1, 1], [10, 2, 5])
    y = X[:, 2] / (1 - X[:, 1] / X[:, 0])  # also x3·x1/x2 · (x1/x2 - 1)^-1, one node more
    law = factored_law(X, y)
    assert law.term == Term(1, 0, 1) and law.exponents.keys() == {2} and law.n_nodes == 2


def test_no_law_where_the_target_vanishes_on_many_rows_or_is_not_factored():
    X = _box([1, 1], [5, 5])
    assert factored_law(X, np.where(X[:, 0] > 3, 0.0, X[:, 0])) is None
    law = factored_law(X, X[:, 0] + np.sin(X[:, 1]))
    assert law is not None and law.mse > 1e-4 * np.var(X[:, 0] + np.sin(X[:, 1]))
    net = ExpressionNetwork(2, 2).double()
    plain = X[:, 0] ** 2 * X[:, 1]  # a plain power law: the power-law start covers it
    assert factored_law(X, plain).term is None and factored_start(net, X, plain) is None


def test_the_start_is_a_chain_that_fits_exactly_and_needs_its_primitives():
    X = _box([1, 0, 1, 3], [4, 2, 3, 6])
    y = 2.5 * X[:, 0] / X[:, 2] * (1 - (X[:, 1] / X[:, 3]) ** 2) ** -1.5
    torch.manual_seed(0)
    net = ExpressionNetwork(4, 3).double()
    start = factored_start(net, X, y)
    architecture, outputs, _ = start
    assert outputs == (False, False, True)
    assert architecture["k1_op"] == ("div",)
    assert architecture["k1_a_x2"] == architecture["k1_b_x4"] == ("square",)
    assert architecture["k2_a_k1"] == ("linear_power",) and architecture["k3_a_k2"] == ("mult",)
    assert _evaluate(net, X, y, start) < 1e-20
    # a graph of one node cannot hold t and its factor; one without linear_power cannot either
    assert factored_start(ExpressionNetwork(4, 1).double(), X, y) is None
    bare = ExpressionNetwork(4, 3, primitives=("none", "mult", "power", "square")).double()
    assert factored_start(bare, X, y) is None


def test_a_sine_factor_and_an_input_term_need_no_node_of_their_own():
    X = _box([1, 1, 0], [5, 5, 5])
    y = X[:, 0] * X[:, 1] * np.sin(X[:, 2])
    net = ExpressionNetwork(3, 2).double()
    start = factored_start(net, X, y)
    assert start[0]["k1_a_x3"] == ("linear_sin",) and start[1] == (False, True)
    assert _evaluate(net, X, y, start) < 1e-20
    X = _box([1, 1, 1], [5, 5, 5])
    y = X[:, 0] / (X[:, 1] * (1 + X[:, 2]))
    net = ExpressionNetwork(3, 2).double()
    start = factored_start(net, X, y)
    assert ("linear_power",) in [start[0][f"k1_{s}_x3"] for s in "ab"]
    assert _evaluate(net, X, y, start) < 1e-20


def test_an_exact_factored_law_is_fitted_without_a_search():
    X = _box([1, 1, 2], [3, 4, 6])
    y = 0.5 * X[:, 0] ** 2 * np.exp(-X[:, 1] / X[:, 2])
    est = DARTSRegressor(random_state=0).fit(X, y)
    assert [r["n_nodes"] for r in est.search_report_] == [2] and est.n_epochs_ == 0
    x1, x2, x3 = sympy.symbols("x1 x2 x3", real=True)
    ratio = sympy.simplify(est.equation_ / (x1**2 * sympy.exp(-x2 / x3)))
    assert ratio.is_number and float(ratio) == pytest.approx(0.5, rel=1e-3), est.equation_
    np.testing.assert_allclose(est.predict(X), y, rtol=1e-6)


@pytest.mark.parametrize("law_of, term", [
    (lambda X: X[:, 0] * np.exp(-X[:, 1] * X[:, 2]), Term(1, 2, 1, product=True)),  # a decay
    (lambda X: 3 * X[:, 0] * np.sin(X[:, 1] * X[:, 2]), Term(1, 2, unary="sin", product=True)),
    (lambda X: X[:, 0] ** 2 * np.cos(X[:, 1] / X[:, 2]), Term(1, 2, unary="cos")),
    (lambda X: X[:, 2] / (1 + X[:, 0] * X[:, 1]), Term(0, 1, 1, product=True)),
])
def test_terms_of_a_product_or_ratio_of_two_inputs_and_their_chain(law_of, term):
    X = _box([1, 1, 1], [3, 3, 3])
    y = law_of(X)
    law = factored_law(X, y)
    assert law.term == term and law.mse < 1e-25 * np.var(y) and law.n_nodes == 2
    torch.manual_seed(0)
    net = ExpressionNetwork(3, 2).double()
    start = factored_start(net, X, y, law)
    assert start[0]["k1_op"] == (("mul",) if term.product else ("div",))
    assert _evaluate(net, X, y, start) < 1e-20
    no_product = ExpressionNetwork(3, 2, node_ops=("add", "div")).double()
    assert factored_start(no_product, X, y, law) is None  # the chain multiplies


@pytest.mark.parametrize("law_of, outer, n_nodes", [
    (lambda X: 2 * X[:, 0] * (1 - np.cos(X[:, 1] * X[:, 2])), "minus", 3),  # 2U(1 - cos kd)
    (lambda X: X[:, 0] * np.cos(X[:, 1]) ** 2, "square", 2),  # Malus: I·cos² θ
])
def test_a_sine_or_cosine_in_a_node_of_its_own_for_its_factors(law_of, outer, n_nodes):
    X = _box([1, 1, 1], [5, 5, 5])
    y = law_of(X)
    law = factored_law(X, y)
    assert [k for k, _ in law.outer] == [outer] and law.n_nodes == n_nodes
    assert law.mse < 1e-25 * np.var(y)
    torch.manual_seed(0)
    net = ExpressionNetwork(3, n_nodes).double()
    assert _evaluate(net, X, y, factored_start(net, X, y, law)) < 1e-20
    assert factored_start(ExpressionNetwork(3, n_nodes - 1).double(), X, y, law) is None


def test_a_factor_that_changes_sign_is_a_linear_edge_of_an_input_times_a_cosine():
    X = _box([1, 1, 1], [5, 5, 5])
    y = X[:, 0] * (1 + X[:, 1] * np.cos(X[:, 2]))  # β(1 + α·cos θ): y crosses 0
    law = factored_law(X, y)
    assert law.term == Term(1, 2, trig="cos") and law.outer == (("plus1", 1.0),)
    assert law.mse < 1e-25 * np.var(y) and law.n_nodes == 2
    torch.manual_seed(0)
    net = ExpressionNetwork(3, 2).double()
    start = factored_start(net, X, y, law)
    assert start[0]["k1_b_x3"] == ("linear_cos",) and start[0]["k2_a_k1"] == ("linear",)
    assert _evaluate(net, X, y, start) < 1e-20
    for sigma in (0.01, 0.05):  # ln|y| is noisy where y crosses 0: those rows weigh little
        noisy = y + np.random.default_rng(0).normal(0, sigma, len(y))
        found = factored_law(X, noisy)
        assert found.term == law.term and found.outer == (("plus1", 1.0),)
        assert found.mse < 2 * sigma**2 and list(found.exponents) == [0]
        assert abs(found.exponents[0] - 1) < 0.01


def test_a_sine_of_a_difference_of_inputs_times_a_power_law():
    """``x1·sin(x2 - x3)``: a phase difference, its term ``u = x2 - x3`` in a node of two
    ``mult`` edges, also at 1 % noise (rows near ``y = 0`` weigh little)."""
    X = _box([1, 0, 0], [5, 3, 3])
    y = X[:, 0] * np.sin(X[:, 1] - X[:, 2])
    law = factored_law(X, y)
    assert law.term == Term(1, 2, unary="sin", sign=-1) and law.outer == (("unary", 1.0),)
    assert law.mse < 1e-25 * np.var(y) and law.n_nodes == 2
    torch.manual_seed(0)
    net = ExpressionNetwork(3, 2).double()
    start = factored_start(net, X, y, law)
    assert start[0]["k1_a_x2"] == ("mult",) and start[0]["k1_b_x3"] == ("mult",)
    assert start[0]["k1_op"] == ("add",) and _evaluate(net, X, y, start) < 1e-20
    noisy = y + np.random.default_rng(1).normal(0, 0.01 * np.std(y), len(y))
    found = factored_law(X, noisy)
    assert found.term == law.term and list(found.exponents) == [0]
    assert abs(found.exponents[0] - 1) < 0.01


@pytest.mark.parametrize("law_of, term, rate", [
    (lambda X: 2.5 * np.sqrt(X[:, 0]) * (1 - np.exp(-1.7 * X[:, 1] * X[:, 2])),
     Term(1, 2, 1, product=True), -1.7),
    (lambda X: 4 * (1 - np.exp(-0.3 * X[:, 0])), Term(0), -0.3),  # a learning curve
    (lambda X: X[:, 1] * (np.exp(X[:, 0] / X[:, 2]) - 1), Term(0, 2), 1.0),  # a growing one
])
def test_a_charging_curve_one_minus_exp_of_a_term_and_its_graph(law_of, term, rate):
    X = _box([0.5, 0.2, 0.5], [10, 3, 2])
    y = law_of(X)
    law = factored_law(X, y)
    assert law.term == term and [k for k, _ in law.outer] == ["expm1"], law
    assert law.outer[0][1] == pytest.approx(rate, rel=1e-6)
    assert law.mse < 1e-18 * np.var(y)
    np.testing.assert_allclose(law.predict(X), y, rtol=1e-6)
    # exp(q·t) in a node of its own, read by a linear edge 1 - (·)
    net = ExpressionNetwork(3, law.n_nodes).double()
    start = factored_start(net, X, y, law)
    assert "linear" in {c[0] for c in start[0].values()}
    assert _evaluate(net, X, y, start) < 1e-18
    bare = ExpressionNetwork(3, law.n_nodes, primitives=("none", "mult", "power", "exp")).double()
    assert factored_start(bare, X, y, law) is None  # 1 - e^{q·t} needs a linear edge


def test_a_charging_curve_is_recovered_by_the_regressor():
    X = _box([1, 0.1, 1], [5, 4, 3], seed=3)
    est = DARTSRegressor(random_state=0).fit(X, 3 * X[:, 0] * (1 - np.exp(-X[:, 1] / X[:, 2])))
    x1, x2, x3 = sympy.symbols("x1 x2 x3", real=True)
    truth = 3 * x1 * (1 - sympy.exp(-x2 / x3))
    f = sympy.lambdify((x1, x2, x3), est.equation_ - truth)
    Xt = _box([1, 0.1, 1], [5, 4, 3], n=300, seed=4)
    assert np.max(np.abs(f(*Xt.T))) < 1e-6, est.equation_
