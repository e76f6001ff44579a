"""Names and scales (reliability issue, item 6): feature names that are not safe symbols get
safe ones (shown), extreme magnitudes are searched rescaled, ``model_repr`` is the model, and
``equation_`` agrees with ``predict``."""

import numpy as np
import pytest
import sympy

from dnas import DARTSRegressor
from dnas.estimators.darts_regressor import EQUATION_RTOL
from dnas.estimators.naming import readable_as_symbol, safe_symbols

QUICK = dict(num_graph_nodes=1, max_epochs=2, primitives=["none", "add", "mult", "exp"],
             random_state=0)


def _evaluate(expr, symbols, X):
    f = sympy.lambdify([sympy.Symbol(s, real=True) for s in symbols], expr, "numpy")
    return np.broadcast_to(np.asarray(f(*X.T), dtype=float), (len(X),))


def test_unsafe_names_get_safe_symbols():
    for bad in ("my x", "exp", "E", "I", "pi", "y", "k1", "lambda", "gamma", "2x", "theta_0"):
        assert not readable_as_symbol(bad), bad
    for good in ("intensity", "x1", "dose_mg", "T"):
        assert readable_as_symbol(good), good
    assert safe_symbols(["my x", "x1", "exp", "a", "a"]) == ["x1_", "x1", "x3", "a", "x5"]


def test_pandas_names_that_are_not_symbols_are_mapped_and_shown():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 1, (60, 3))
    df = pd.DataFrame(X, columns=["my x", "exp", "y"])
    est = DARTSRegressor(**QUICK).fit(df, 2 * X[:, 0] + np.exp(X[:, 1]) - X[:, 2])
    assert est.symbols_ == ["x1", "x2", "x3"]
    text = str(est.equation_)
    parsed = sympy.sympify(text)  # parseable, and only the safe symbols appear
    assert {s.name for s in parsed.free_symbols} <= {"x1", "x2", "x3"}
    np.testing.assert_allclose(_evaluate(parsed, est.symbols_, X), est.predict(df),
                               rtol=1e-3, atol=1e-3)
    shown = est.model_repr()
    assert "where" in shown and "x1 = 'my x'" in shown and "x3 = 'y'" in shown


def test_extreme_scales_give_the_law_not_zero():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 2, (80, 2))
    y = 1e300 * (2 * X[:, 0] + X[:, 1])
    est = DARTSRegressor(**QUICK).fit(X, y)
    assert est.y_scale_ in (1e300, 1e301)  # the power of ten nearest to max |y|
    pred = est.predict(X)
    np.testing.assert_allclose(pred, y, rtol=1e-6)
    x1, x2 = sympy.symbols("x1 x2", real=True)
    ratio = sympy.simplify(est.equation_ / (2 * x1 + x2))
    assert ratio.is_number and abs(float(ratio) / 1e300 - 1) < 1e-6
    # tiny inputs: the search reads them rescaled, the equation is in the user's units
    Xs = X * 1e-300
    est = DARTSRegressor(**QUICK).fit(Xs, 2 * X[:, 0] + X[:, 1])
    assert list(est.x_scale_) == [1e-300, 1e-300]
    np.testing.assert_allclose(est.predict(Xs), 2 * X[:, 0] + X[:, 1], rtol=1e-6)
    np.testing.assert_allclose(_evaluate(est.equation_, est.symbols_, Xs),
                               2 * X[:, 0] + X[:, 1], rtol=1e-3)


def test_model_repr_is_the_model():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (80, 2))
    y = 3e6 * np.sin(2 * X[:, 0] * X[:, 1])  # two nodes, the inner one hidden; y rescaled
    est = DARTSRegressor(primitives=["none", "add", "mult", "sin"], max_epochs=3,
                         random_state=0).fit(X, y)
    lines = est.model_repr(decimals_to_display=12).splitlines()[1:]
    env: dict = {}
    x1, x2 = sympy.symbols("x1 x2", real=True)
    for line in lines:
        lhs, rhs = (s.strip() for s in line.split("=", 1))
        env[sympy.Symbol(lhs)] = sympy.sympify(rhs, locals={"x1": x1, "x2": x2}).xreplace(env)
    value = _evaluate(env[sympy.Symbol("y")], ["x1", "x2"], X)
    np.testing.assert_allclose(value, est.predict(X), rtol=1e-9, atol=1e-9 * np.abs(y).max())


def test_a_vanishing_node_is_not_printed_as_zero():
    from dnas.estimators.equation import _round_decimals

    x = sympy.Symbol("x")
    assert _round_decimals(sympy.Float(1e-25) * x, 2) != 0
    assert _round_decimals(sympy.Float(0.123456) * x, 2) == sympy.Float(0.12) * x


def test_equation_agrees_with_predict_when_large_constants_cancel():
    # y = 10001.234·(x1 − 1) on x1 ≈ 1: rounding the slope and the offset to 4 digits each
    # would move the equation by several standard deviations of y
    rng = np.random.default_rng(0)
    X = rng.uniform(0.999, 1.001, (60, 1))
    y = 10001.234 * (X[:, 0] - 1)
    est = DARTSRegressor(num_graph_nodes=1, max_epochs=2, primitives=["none", "mult"],
                         random_state=0).fit(X, y)
    pred = est.predict(X)
    value = _evaluate(est.equation_, est.symbols_, X)
    assert np.max(np.abs(value - pred)) <= EQUATION_RTOL * np.std(pred)
