"""Additive laws as starts of the discrete search (dnas.estimators.additive) and the closed-form
laws of a fit together (dnas.estimators.laws)."""

import numpy as np
import pytest
import sympy
import torch

from dnas import DARTSRegressor
from dnas.estimators.additive import (
    additive_law,
    additive_start,
    candidate_features,
    nodes_needed,
    place,
    polynomial_columns,
)
from dnas.estimators.fitting import Evaluator
from dnas.estimators.laws import DataLaws
from dnas.estimators.monomial import Equation
from dnas.spaces.expression import ExpressionNetwork
from dnas.spaces.expression.primitives import DEFAULT_PRIMITIVES


def _box(lo, hi, n=200, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, (n, len(lo)))


def _terms(law):
    return sorted((f.column, f.primitive, dict(f.inner).get("a")) for f in law.features)


def test_the_sparse_sum_is_found_among_correlated_candidates():
    X = _box([0.5, 0.5], [2, 3])
    y = 2 * np.log(X[:, 0]) - 0.5 * X[:, 1] ** 1.5 + 3 * np.cos(X[:, 1]) + 0.7
    law = additive_law(X, y, DEFAULT_PRIMITIVES)
    assert _terms(law) == [(0, "ln", None), (1, "linear_cos", 1.0), (1, "power", 1.5)]
    assert law.bias == pytest.approx(0.7, abs=1e-9) and law.mse < 1e-25 * np.var(y)
    np.testing.assert_allclose(law.predict(X), y, rtol=1e-9)


def test_terms_per_input_are_bounded_and_set_the_nodes_needed():
    X = _box([-1], [1])
    y = X[:, 0] ** 3 - 2 * X[:, 0] ** 2 + X[:, 0]  # three terms of one input
    two = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=1)
    assert len(two.features) <= 2 and two.mse > 1e-6 * np.var(y)
    four = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=2)
    assert _terms(four) == [(0, "cube", None), (0, "mult", None), (0, "square", None)]
    assert four.n_nodes == 2


def test_the_candidates_follow_the_primitives_and_the_sign_of_each_input():
    X = np.column_stack([_box([1], [2])[:, 0], _box([-1], [1], seed=1)[:, 0]])
    features = candidate_features(X, ("none", "mult", "power", "ln", "reciprocal"))
    by_column = {c: {f.primitive for f in features if f.column == c} for c in (0, 1)}
    assert by_column == {0: {"mult", "power", "ln"}, 1: {"mult", "reciprocal"}}


def test_the_start_spreads_terms_over_nodes_and_refits_exactly():
    X = _box([-1, 0.5], [1, 2])
    y = X[:, 0] ** 3 - 2 * X[:, 0] ** 2 + X[:, 0] + 1.5 / X[:, 1] - 0.25
    law = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    torch.manual_seed(0)
    net = ExpressionNetwork(2, 3).double()
    architecture, outputs, init = additive_start(net, law)
    assert outputs == (True, True, False)
    assert {architecture["k1_a_x1"], architecture["k1_b_x1"], architecture["k2_a_x1"]} == {
        ("cube",), ("square",), ("mult",)}
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, True, init, outputs).mse < 1e-20 * np.var(y)
    bare = ExpressionNetwork(2, 3, primitives=("none", "mult")).double()
    assert additive_start(bare, law) is None  # needs cube and square


def test_an_approximation_is_neither_exact_nor_a_start():
    X = _box([-1, -1], [1, 1])
    y = np.sin(X[:, 0]) + np.sin(X[:, 1] ** 2)  # sin x2² is no candidate term
    laws = DataLaws(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    assert laws.additive.mse < 1e-6 * np.var(y)  # a close polynomial stand-in...
    assert laws.additive.mse > laws.tol and laws.first_size() == 1  # ...not the law
    net = ExpressionNetwork(2, 2).double()
    approximation = additive_start(net, laws.additive)[0]
    assert laws.starts(net, exact_only=True) == []
    assert all(start[0] != approximation for start in laws.starts(net))
    exact = DataLaws(X, np.sin(X[:, 0]) + X[:, 1] ** 2, DEFAULT_PRIMITIVES, max_nodes=3)
    assert additive_start(net, exact.additive)[0] in [s[0] for s in exact.starts(net)]


def test_an_exact_additive_law_is_fitted_without_a_search():
    X = _box([0.5, -2], [3, 2])
    y = 1.5 * np.sqrt(X[:, 0]) - X[:, 1] ** 2 + 0.5 * X[:, 1] + 2
    est = DARTSRegressor(random_state=0).fit(X, y)
    assert [r["n_nodes"] for r in est.search_report_] == [1] and est.n_epochs_ == 0
    x1, x2 = sympy.symbols("x1 x2", real=True)
    diff = sympy.simplify(est.equation_ - (1.5 * sympy.sqrt(x1) - x2**2 + x2 / 2 + 2))
    assert diff == 0 or (diff.is_number and abs(float(diff)) < 1e-3), est.equation_


def test_products_of_two_edges_are_terms_each_a_mul_node():
    X = _box([-1, -1, -1], [1, 1, 1])
    y = 2 * X[:, 0] * X[:, 1] + X[:, 2] - 0.5
    law = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    assert law.mse < 1e-25 * np.var(y) and law.n_nodes == 2
    product = [f for f in law.features if f.times is not None]
    assert [(f.column, f.primitive, f.times.column, f.times.primitive) for f in product] == [
        (0, "mult", 1, "mult")]
    torch.manual_seed(0)
    net = ExpressionNetwork(3, 3).double()
    architecture, outputs, init = additive_start(net, law)
    assert outputs == (True, True, False)
    assert architecture["k1_op"] == ("mul",)
    assert (architecture["k1_a_x1"], architecture["k1_b_x2"]) == (("mult",), ("mult",))
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, True, init, outputs).mse < 1e-20 * np.var(y)
    no_products = ExpressionNetwork(3, 3, node_ops=("add",)).double()
    assert additive_start(no_products, law) is None  # the product needs a mul node
    assert all(f.times is None for f in candidate_features(X, DEFAULT_PRIMITIVES, ("add",)))


def test_high_powers_of_a_signed_input_are_products_and_cost_a_node_each():
    X = _box([-1], [1])
    y = X[:, 0] ** 4 + X[:, 0] ** 3 + X[:, 0] ** 2 + X[:, 0]  # Nguyen-2: x⁴ is no edge here
    law = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    assert law.mse < 1e-25 * np.var(y) and law.n_nodes == 3  # x², x³ + x, x²·x²
    # two nodes hold only a stand-in (a sum of exponentials), far from exact
    assert additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=2).mse > 1e-12 * np.var(y)
    np.testing.assert_allclose(law.predict(X), y, rtol=1e-9, atol=1e-12)


def test_a_sum_of_a_product_and_an_input_is_recovered_without_a_search():
    X = _box([-1, -1, -1], [1, 1, 1], seed=3)
    est = DARTSRegressor(random_state=0).fit(X, X[:, 0] * X[:, 1] + X[:, 2])
    x1, x2, x3 = sympy.symbols("x1 x2 x3", real=True)
    assert sympy.simplify(est.equation_ - (x1 * x2 + x3)) == 0, est.equation_
    assert est.n_epochs_ == 0 and [r["n_nodes"] for r in est.search_report_] == [2]


def _sextic(x):
    return 1.5 * x**6 - x**5 + 0.3 * x**4 + 2 * x**3 - x**2 + x - 1


def test_powers_three_to_six_of_one_input_share_two_nodes():
    X = _box([-1, -2], [1, 2])
    y = _sextic(X[:, 0])
    law = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    assert law.mse < 1e-25 * np.var(y) and len(law.features) == 6
    # x⁴, x⁵, x⁶ of a signed input are products (a node each): five nodes one by one, three as
    # one polynomial (b₀ + b₁x + b₂x², then x³·(that + b₃x³), then x + x²)
    assert polynomial_columns(law.features) == {0} and nodes_needed(law.features) == 3
    assert law.n_nodes == 3
    torch.manual_seed(0)
    net = ExpressionNetwork(2, 3).double()
    architecture, outputs, init = additive_start(net, law)
    assert outputs == (False, True, True)  # the first node is read by the second only
    assert architecture["k2_op"] == ("mul",) and architecture["k2_b_k1"] == ("mult",)
    assert architecture["k1_a_x1"] == ("linear",) and architecture["k2_b_x1"] == ("cube",)
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, True, init, outputs).mse < 1e-20 * np.var(y)
    # a lone high power, or powers below 4, stay as they were
    cubic = additive_law(X, X[:, 0] ** 3 - X[:, 0], DEFAULT_PRIMITIVES, max_nodes=3)
    assert polynomial_columns(cubic.features) == frozenset()


def test_a_polynomial_shares_the_adding_nodes_with_other_inputs_and_can_be_aggregated():
    X = _box([-1, -1], [1, 1], seed=2)
    y = X[:, 0] ** 6 + X[:, 0] ** 5 - X[:, 0] ** 4 + 3 * X[:, 1] - 0.5 * X[:, 0]
    law = additive_law(X, y, DEFAULT_PRIMITIVES, max_nodes=3)
    assert law.mse < 1e-25 * np.var(y) and law.n_nodes == 3  # one by one: 4 nodes
    torch.manual_seed(0)
    net = ExpressionNetwork(2, 4).double()
    eq = Equation(net)
    used = place(eq, law, aggregate=True)
    # the polynomial's mul node (k2), then one adding node (k3) for x1 and x2 that also sums k2
    assert used == [2, 3] and eq.choice["k3_a_k2"] == ["mult"] and eq.choice["k3_a_k1"] == ["none"]
    eq.init[(id(net.out_bias), None)] = law.bias
    architecture, outputs, init = eq.result(tuple(j == 3 for j in range(1, 5)))
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=1,
                         generator=torch.Generator().manual_seed(0))
    assert evaluate(architecture, True, init, outputs).mse < 1e-20 * np.var(y)


def test_a_sextic_of_a_signed_input_is_recovered_without_a_search():
    X = _box([-1], [1], seed=4)
    est = DARTSRegressor(random_state=0).fit(X, _sextic(X[:, 0]))
    x1 = sympy.symbols("x1", real=True)
    diff = sympy.expand(est.equation_ - _sextic(x1))
    assert all(abs(float(c)) < 1e-6 for c in sympy.Poly(diff, x1).all_coeffs()), est.equation_
    assert est.n_epochs_ == 0 and [r["n_nodes"] for r in est.search_report_] == [3]
