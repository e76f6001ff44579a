"""Levenberg-Marquardt in NumPy whose result is the same in every process.

Why not ``scipy.optimize.leastsq``: SciPy's MINPACK (C, SciPy 1.17) returns last-bit-different
steps for bit-identical residuals and Jacobians in different processes (shown by replaying one
fit's evaluations from a table: the solver proposed a point the first process never visited;
``benchmarks/RESULTS.md`` §5). One last bit is enough: the fit reaches another local minimum or
spends another number of evaluations, and the discrete equation search that ranks the fits goes
elsewhere — ``DARTSRegressor(random_state=0)`` gave different equations run to run.

This solver uses only elementwise NumPy arithmetic and reductions along a fixed axis, whose
results do not depend on where the arrays sit in memory, and solves its small ``k × k`` systems
with a Cholesky factorisation in plain Python floats (no LAPACK/BLAS call, whose kernels may split
work by the alignment of a buffer they allocate).

The method (Marquardt 1963 with Moré's 1978 scaling and Nielsen's 1999 damping update): with
residuals ``r``, Jacobian ``J``, ``A = JᵀJ``, ``g = Jᵀr`` and the column scales
``d_j = max over iterations of ‖J_j‖``, the step solves ``(A + μ·diag(d²)) h = −g``; a step that
lowers ``½‖r‖²`` is taken and ``μ ← μ·max(1/3, 1 − (2ρ − 1)³)`` (``ρ``: actual over predicted
reduction), otherwise ``μ ← μ·ν``, ``ν ← 2ν``. It stops, like MINPACK, after a step whose
actual and predicted relative reductions of the sum of squares are at most ``ftol`` or whose
length is at most ``xtol`` of ``‖d·x‖``, or after ``max_nfev`` evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: MINPACK's default tolerances (``sqrt`` of the machine epsilon)
TOL = 1.49012e-08


def _cholesky_solve(M: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Solve ``M x = b`` for a symmetric positive definite ``M``; None if it is not.

    In plain Python floats (IEEE doubles, every sum in index order): for the few constants of an
    equation this is faster than NumPy calls on tiny arrays, and no library kernel is involved.
    """
    k = len(b)
    m = M.tolist()
    rhs = b.tolist()
    L = [[0.0] * k for _ in range(k)]
    for j in range(k):
        Lj = L[j]
        s = m[j][j]
        for p in range(j):
            s -= Lj[p] * Lj[p]
        if not (s > 0.0 and math.isfinite(s)):
            return None
        djj = math.sqrt(s)
        Lj[j] = djj
        for i in range(j + 1, k):
            Li = L[i]
            t = m[i][j]
            for p in range(j):
                t -= Li[p] * Lj[p]
            Li[j] = t / djj
    z = [0.0] * k
    for j in range(k):
        t = rhs[j]
        Lj = L[j]
        for p in range(j):
            t -= Lj[p] * z[p]
        z[j] = t / Lj[j]
    x = [0.0] * k
    for j in range(k - 1, -1, -1):
        t = z[j]
        for p in range(j + 1, k):
            t -= L[p][j] * x[p]
        x[j] = t / L[j][j]
    out = np.array(x)
    return out if np.isfinite(out).all() else None


def _normal(J: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``JᵀJ`` and ``Jᵀr`` as sums over the rows in order (no BLAS)."""
    return (J[:, :, None] * J[:, None, :]).sum(axis=0), (J * r[:, None]).sum(axis=0)


def _norm(v: np.ndarray) -> float:
    return float(np.sqrt((v * v).sum()))


def levenberg_marquardt(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    *,
    max_nfev: int,
    ftol: float = TOL,
    xtol: float = TOL,
) -> np.ndarray:
    """Minimise ``½‖r(x)‖²`` from ``x0``; ``fun(x)`` returns the residuals ``(n,)`` and their
    Jacobian ``(n, k)``. Returns the best point evaluated (at most ``max_nfev`` evaluations).
    A trial point with non-finite residuals counts as a failed step."""
    x = np.array(x0, dtype=np.float64)
    r, J = fun(x)
    cost = 0.5 * float((r * r).sum())
    if not np.isfinite(cost) or len(x) == 0:
        return x
    nfev = 1
    A, g = _normal(J, r)
    d = np.sqrt(np.diagonal(A)).copy()
    d[~(d > 0.0)] = 1.0
    mu, nu = 1e-3, 2.0  # Nielsen's τ·max(A_jj / d_j²) with τ = 1e-3; the ratio is 1 here
    while nfev < max_nfev:
        h = _cholesky_solve(A + np.diag(mu * d * d), -g)
        if h is None:  # the damped system is not positive definite (yet): damp more
            mu, nu = mu * nu, nu * 2.0
            if not mu < 1e300:
                break
            continue
        small = _norm(d * h) <= xtol * _norm(d * x)
        trial = x + h
        r_new, J_new = fun(trial)
        nfev += 1
        cost_new = 0.5 * float((r_new * r_new).sum())
        predicted = 0.5 * float((h * (mu * d * d * h - g)).sum())
        if np.isfinite(cost_new) and cost_new < cost and predicted > 0:
            rho = (cost - cost_new) / predicted
            converged = small or (cost - cost_new <= ftol * cost and predicted <= ftol * cost)
            x, r, J, cost = trial, r_new, J_new, cost_new
            A, g = _normal(J, r)
            d = np.maximum(d, np.sqrt(np.diagonal(A)))
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            if converged or cost == 0.0:
                break
        elif small:  # not even a step below round-off lowers the cost: a minimum
            break
        else:
            mu, nu = mu * nu, nu * 2.0
            if not mu < 1e300:
                break
    return x
