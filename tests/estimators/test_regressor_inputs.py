"""Bad input gets a clear error naming the problem; pandas feature names reach the equation."""

import numpy as np
import pytest
import sympy

from dnas import DARTSRegressor

QUICK = dict(max_epochs=1, param_updates_per_epoch=5, arch_updates_per_epoch=5, refine=False,
             param_updates_for_sampled_model=20, random_state=0)


def data(n=30):
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 2, (n, 2))
    return X, 2 * X[:, 0] + X[:, 1]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_or_y(bad):
    X, y = data()
    X2 = X.copy()
    X2[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        DARTSRegressor(**QUICK).fit(X2, y)
    y2 = y.copy()
    y2[0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        DARTSRegressor(**QUICK).fit(X, y2)


def test_one_dimensional_X():
    X, y = data()
    with pytest.raises(ValueError, match="2D array"):
        DARTSRegressor(**QUICK).fit(X[:, 0], y)


def test_mismatched_lengths():
    X, y = data()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DARTSRegressor(**QUICK).fit(X, y[:-1])


def test_empty_and_single_sample():
    X, y = data()
    with pytest.raises(ValueError, match="0 sample"):
        DARTSRegressor(**QUICK).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="n_samples=1"):
        DARTSRegressor(**QUICK).fit(X[:1], y[:1])


def test_unknown_primitive_lists_valid_names():
    X, y = data()
    with pytest.raises(ValueError, match=r"unknown primitive\(s\) \['sqrt'\].*valid names:.*ln"):
        DARTSRegressor(primitives=["add", "sqrt"], **QUICK).fit(X, y)


@pytest.mark.parametrize("param, value, match", [
    ("output_type", "class", "output_type='class' must be one of 'real'"),
    ("output_type", "probability_distribution", "single output"),
    ("darts_type", "gdas", "darts_type='gdas' must be one of 'original', 'fair'"),
    ("method", "nope", "method='nope' must be one of None, 'binary'"),
    ("sampling_strategy", "min", "sampling_strategy='min'"),
    ("num_graph_nodes", 0, "num_graph_nodes=0 must be an integer >= 1"),
    ("max_epochs", -1, "max_epochs=-1"),
    ("batch_size", 0, "batch_size=0"),
    ("arch_learning_rate_max", -0.1, "arch_learning_rate_max=-0.1"),
    ("grad_clip", 0, "grad_clip=0"),
    ("arch_momentum", 1.0, r"arch_momentum=1.0 must be a number in \[0, 1\)"),
    ("node_ops", ("add", "pow"), "node_ops"),
    ("warm_start", "yes", "warm_start='yes'"),
])
def test_bad_parameters_are_named(param, value, match):
    X, y = data()
    with pytest.raises(ValueError, match=match):
        DARTSRegressor(**{**QUICK, param: value}).fit(X, y)


def test_probability_output_needs_unit_interval_targets():
    X, y = data()
    with pytest.raises(ValueError, match=r"fits values in \[0, 1\]"):
        DARTSRegressor(output_type="probability", **QUICK).fit(X, y)


def test_pandas_feature_names_reach_the_equation():
    pd = pytest.importorskip("pandas")
    X, y = data()
    df = pd.DataFrame(X, columns=["intensity", "baseline"])
    est = DARTSRegressor(**QUICK).fit(df, y)
    names = {s.name for s in est.equation_.free_symbols}
    assert names <= {"intensity", "baseline"} and names
    assert "intensity" in est.model_repr() or "baseline" in est.model_repr()
    assert list(est.feature_names_in_) == ["intensity", "baseline"]
    est.predict(df)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df.rename(columns={"intensity": "other"}))


def test_predictions_stay_finite_outside_the_domain():
    # ln, power and reciprocal are guarded: a law fitted on x > 0 evaluated at x <= 0 gives finite
    # numbers (not NaN), and the fitted equation still reads ln / power
    rng = np.random.default_rng(1)
    X = rng.uniform(0.5, 3, (60, 1))
    y = 1.5 * np.log(X[:, 0])
    est = DARTSRegressor(primitives=["none", "ln", "mult"], max_epochs=2,
                         param_updates_per_epoch=50, arch_updates_per_epoch=50,
                         random_state=0).fit(X, y)
    assert est.equation_.has(sympy.log)
    pred = est.predict(np.array([[-2.0], [0.0], [1e-300], [1.0]]))
    assert np.isfinite(pred).all()
