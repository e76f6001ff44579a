"""The Levenberg-Marquardt solver behind DARTSRegressor's constant fits."""

import numpy as np
import pytest
from scipy.optimize import leastsq

from dnas.estimators.lm import _cholesky_solve, levenberg_marquardt


def _exp_problem(seed=0, n=120, noise=0.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 2.0, n)
    y = 1.7 * np.exp(-0.8 * x) + 0.3 * np.sin(2.5 * x) - 0.4
    y = y + noise * rng.normal(size=n)

    def fun(t):
        e, s = np.exp(t[1] * x), np.sin(t[3] * x)
        r = t[0] * e + t[2] * s + t[4] - y
        J = np.stack([e, t[0] * x * e, s, t[2] * x * np.cos(t[3] * x), np.ones_like(x)], axis=1)
        return r, J

    return fun


def test_reaches_the_exact_minimum_of_noise_free_data():
    fun = _exp_problem()
    t = levenberg_marquardt(fun, np.array([1.0, -0.5, 0.5, 2.3, 0.0]), max_nfev=200)
    np.testing.assert_allclose(t, [1.7, -0.8, 0.3, 2.5, -0.4], rtol=1e-7)
    assert float(np.mean(fun(t)[0] ** 2)) < 1e-20


def test_same_minimum_as_minpack_on_noisy_data():
    fun = _exp_problem(seed=1, noise=0.05)
    x0 = np.array([1.0, -0.5, 0.5, 2.3, 0.0])
    ours = levenberg_marquardt(fun, x0, max_nfev=200)
    theirs = leastsq(lambda t: fun(t)[0], x0, Dfun=lambda t: fun(t)[1], maxfev=200)[0]
    mse = lambda t: float(np.mean(fun(t)[0] ** 2))  # noqa: E731
    assert mse(ours) == pytest.approx(mse(theirs), rel=1e-9)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_rosenbrock_from_the_classic_start():
    def fun(t):
        r = np.array([10.0 * (t[1] - t[0] ** 2), 1.0 - t[0]])
        J = np.array([[-20.0 * t[0], 10.0], [-1.0, 0.0]])
        return r, J

    t = levenberg_marquardt(fun, np.array([-1.2, 1.0]), max_nfev=200)
    np.testing.assert_allclose(t, [1.0, 1.0], atol=1e-8)


def test_never_exceeds_the_evaluation_budget_and_returns_the_best_point():
    base = _exp_problem(seed=2, noise=0.1)
    calls = []

    def fun(t):
        calls.append(t.copy())
        return base(t)

    x0 = np.array([3.0, 0.5, -1.0, 1.0, 2.0])
    t = levenberg_marquardt(fun, x0, max_nfev=7)
    assert len(calls) <= 7
    costs = [float(np.sum(base(c)[0] ** 2)) for c in calls]
    assert float(np.sum(base(t)[0] ** 2)) == min(costs)
    assert min(costs) < costs[0]


def test_non_finite_trial_points_are_rejected_not_returned():
    x = np.linspace(0.5, 3.0, 40)
    y = np.log(2.0 * x)

    def fun(t):
        with np.errstate(all="ignore"):
            r = np.log(t[0] * x) - y
        return r, (1.0 / t[0]) * np.ones((len(x), 1))

    # the first full step from 0.05 lands at a negative scale (log undefined)
    t = levenberg_marquardt(fun, np.array([0.05]), max_nfev=100)
    assert np.isfinite(t).all()
    assert t[0] == pytest.approx(2.0, rel=1e-8)


def _at_offset(a, offset):
    """A copy of ``a`` starting ``offset`` doubles into a fresh buffer (another alignment)."""
    buf = np.empty(a.size + 8)
    out = buf[offset:offset + a.size].reshape(a.shape)
    out[...] = a
    return out


def test_result_does_not_depend_on_where_the_arrays_sit_in_memory():
    base = _exp_problem(seed=3, noise=0.05)
    x0 = np.array([0.7, 0.4, -0.6, 1.9, 0.8])
    results = set()
    for offset in range(8):
        def fun(t, offset=offset):
            r, J = base(t)
            return _at_offset(r, offset), _at_offset(J, (offset * 3) % 8)

        results.add(levenberg_marquardt(fun, _at_offset(x0, offset), max_nfev=60).tobytes())
    assert len(results) == 1


def test_cholesky_solve_matches_lapack_and_refuses_indefinite_systems():
    rng = np.random.default_rng(4)
    for k in (1, 2, 5, 11):
        B = rng.normal(size=(k + 3, k))
        M = B.T @ B + 0.1 * np.eye(k)
        b = rng.normal(size=k)
        np.testing.assert_allclose(_cholesky_solve(M, b), np.linalg.solve(M, b), rtol=1e-10)
    assert _cholesky_solve(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2)) is None
    assert _cholesky_solve(np.array([[np.nan]]), np.ones(1)) is None
