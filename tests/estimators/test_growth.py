"""Complexity chosen by the data: the graph grows 1 -> 2 -> 3 nodes only while the criterion
improves by a clear margin, stops as soon as a fit is exact, and ``num_graph_nodes`` overrides it.
"""

import numpy as np
import sympy

from dnas import DARTSRegressor

SMALL = dict(primitives=["none", "add", "mult", "sin"], max_epochs=3, random_state=0)


def _data(f, n=120, seed=0, low=-1.0, high=1.0):
    X = np.random.default_rng(seed).uniform(low, high, (n, 2))
    return X, f(X[:, 0], X[:, 1])


def test_stops_at_one_node_when_the_fit_is_exact():
    X, y = _data(lambda a, b: 2 * a - b)
    est = DARTSRegressor(**SMALL).fit(X, y)
    assert [r["n_nodes"] for r in est.search_report_] == [1]
    assert est.network_.n_nodes == 1
    x1, x2 = sympy.symbols("x1 x2", real=True)
    assert sympy.simplify(est.equation_ - (2 * x1 - x2)) == 0


def test_noise_does_not_buy_a_larger_graph():
    rng = np.random.default_rng(1)
    X, y = _data(lambda a, b: 2 * a - b)
    y = y + 0.05 * rng.standard_normal(len(y))
    est = DARTSRegressor(**SMALL).fit(X, y)
    report = est.search_report_
    assert len(report) == 2 and not report[1]["kept"]  # tried, not kept, not grown further
    assert est.network_.n_nodes == 1


def test_num_graph_nodes_is_an_explicit_size():
    X, y = _data(lambda a, b: np.sin(2 * a * b))
    est = DARTSRegressor(num_graph_nodes=1, **SMALL).fit(X, y)
    assert [r["n_nodes"] for r in est.search_report_] == [1]
    assert est.network_.n_nodes == 1


def test_a_spent_work_budget_stops_the_growth_and_the_search_decides_among_what_it_found(
        monkeypatch):
    from dnas.estimators import darts_regressor

    X, y = _data(lambda a, b: np.sin(2 * a * b) + a**2 * b, seed=2)  # no law of this space:
    # unbounded, the graph grows (as with the noise above)
    monkeypatch.setattr(darts_regressor, "WORK", 3000)
    bounded = DARTSRegressor(**SMALL).fit(X, y)
    report = bounded.search_report_
    assert [r["n_nodes"] for r in report] == [1] and report[0]["work"] >= 3000
    # the search stopped early, yet the equation agrees with the model and is deterministic
    x = sympy.symbols("x1 x2", real=True)
    shown = np.asarray(sympy.lambdify(x, bounded.equation_)(X[:, 0], X[:, 1]), dtype=float)
    np.testing.assert_allclose(shown * np.ones(len(X)), bounded.predict(X),
                               atol=1e-3 * np.std(bounded.predict(X)))
    again = DARTSRegressor(**SMALL).fit(X, y)
    assert str(again.equation_) == str(bounded.equation_)


def test_a_stand_in_fitted_to_1e_10_is_not_exact_and_the_graph_grows_to_the_law():
    # sin(x2²) is no edge of one node; there a flexible stand-in ((a·x2 + b)^p plus a cosine)
    # fits this data to 4e-10 of var(y), far above a law's round-off
    rng = np.random.default_rng(1001)
    X = rng.uniform(size=(200, 2))
    y = np.sin(X[:, 0]) + np.sin(X[:, 1] ** 2)
    est = DARTSRegressor(random_state=1).fit(X, y)
    first, *rest = est.search_report_
    assert first["n_nodes"] == 1 and 1e-16 * np.var(y) < first["mse"] < 1e-9 * np.var(y)
    assert [r["n_nodes"] for r in rest] == [2] and rest[0]["kept"]
    x1, x2 = sympy.symbols("x1 x2", real=True)
    assert sympy.simplify(est.equation_ - (sympy.sin(x1) + sympy.sin(x2**2))) == 0, est.equation_
