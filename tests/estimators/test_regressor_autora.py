"""AutoRA's documented example, unchanged but for the import, recovers the law; its refit idioms
(max_epochs=0, sampling_strategy) keep their meaning; warm_start and random_state are defined."""

import numpy as np
import pytest
import sympy

from dnas import DARTSRegressor


def autora_example_data():
    # verbatim from AutoRA's "Basic Usage" page
    x_1 = np.linspace(0, 1, num=10)
    x_2 = np.linspace(0, 1, num=10)
    X = np.array(np.meshgrid(x_1, x_2)).T.reshape(-1, 2)
    y = 2 * X[:, 0] + np.exp(5 * X[:, 1])
    return X, y


def held_out_r2(est, seed=0):
    X = np.random.default_rng(seed).uniform(0, 1, (500, 2))
    return est.score(X, 2 * X[:, 0] + np.exp(5 * X[:, 1]))


@pytest.fixture(scope="module")
def fitted():
    X, y = autora_example_data()
    primitives = ["none", "add", "subtract", "mult", "logistic", "exp", "relu"]
    darts_estimator = DARTSRegressor(
        num_graph_nodes=1,
        arch_updates_per_epoch=1,
        arch_learning_rate_max=0.001,
        param_updates_per_epoch=500,
        param_momentum=0.9,
        max_epochs=300,
        output_type="real",
        primitives=primitives,
    )
    darts_estimator.fit(X, y)
    darts_estimator.visualize_model()
    return darts_estimator, X, y


def test_documented_example_recovers_the_law(fitted):
    est, _, _ = fitted
    x1, x2 = sympy.symbols("x1 x2", real=True)
    assert sympy.simplify(est.equation_ - (2 * x1 + sympy.exp(5 * x2))) == 0
    assert held_out_r2(est) >= 0.9999
    assert est.n_epochs_ < 300  # the search stopped once the architecture settled


def test_refit_keeps_the_architecture_and_refits_the_constants(fitted):
    est, X, y = fitted
    arch = est.architecture_
    # AutoRA's refit idiom, on data of the same form with other constants: the architecture is
    # kept and the coefficients really move to the new data
    est.set_params(max_epochs=0, param_updates_for_sampled_model=1000)
    est.fit(X, 3 * X[:, 0] + np.exp(4 * X[:, 1]))
    assert est.architecture_ == arch
    x1, x2 = sympy.symbols("x1 x2", real=True)
    assert sympy.simplify(est.equation_ - (3 * x1 + sympy.exp(4 * x2))) == 0
    est.fit(X, y)
    assert est.architecture_ == arch and held_out_r2(est) >= 0.9999


def test_sample_then_max_gives_back_the_architecture(fitted):
    est, X, y = fitted
    arch = est.architecture_
    est.set_params(max_epochs=0, sampling_strategy="sample", param_updates_for_sampled_model=800)
    est.fit(X, y)
    est.visualize_model()
    assert set(est.architecture_) == set(arch)
    est.set_params(max_epochs=0, sampling_strategy="max", param_updates_for_sampled_model=1000)
    est.fit(X, y)
    assert est.architecture_ == arch
    assert held_out_r2(est) >= 0.9999


def test_readable_results(fitted):
    est, _, _ = fitted
    text = est.model_repr()
    assert text.startswith("Model:\nk1 = ") and "\ny = " in text
    assert str(est) == text
    assert "e^{5 x_{2}}" in est.to_latex() and est.to_latex().startswith("y = ")
    dot = est.visualize_model().source
    assert dot.startswith("digraph") and '"x2" -> "k1"' in dot and "exp" in dot
    latex = est.model_repr(output_format="latex")
    assert "k_1 = " in latex


def test_random_state_reproduces_and_warm_start_continues():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 2, (50, 2))
    y = X[:, 0] * X[:, 1]
    kw = dict(max_epochs=2, param_updates_per_epoch=30, arch_updates_per_epoch=30, patience=None,
              random_state=3, refine=False, primitives=("none", "add", "mult"))
    a, b = DARTSRegressor(**kw).fit(X, y), DARTSRegressor(**kw).fit(X, y)
    assert a.architecture_ == b.architecture_
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert len(a.history_) == 2
    a.set_params(warm_start=True)
    a.fit(X, y)  # continues the same search: two more epochs on the kept network
    assert len(a.history_) == 4
    b.set_params(warm_start=False)
    net = b.network_
    b.fit(X, y)  # starts anew
    assert b.network_ is not net and len(b.history_) == 2
    c = DARTSRegressor(**{**kw, "warm_start": True, "max_epochs": 1})
    c.fit(X, y)
    with pytest.raises(ValueError, match="cannot continue the previous search"):
        c.fit(X[:, :1], y)
