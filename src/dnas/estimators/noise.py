"""Whether a fit's residuals are noise: what is left has no structure a larger equation could fit.

DARTSRegressor grows its graph (1, 2, 3 nodes) while the criterion improves. On noise-free data
the growth stops at an exact fit; on noisy data no fit is exact, and without a test of what is
left every fit paid for the next size's search just to find nothing better. The test here asks
whether the residuals ``r = y - f(X)`` depend on the inputs: if neighbouring inputs carry no
more alike residuals than random pairs, the error is noise and no equation can lower it by
more than overfitting does.

The statistic is Moran's I of the residuals with row-standardised ``k``-nearest-neighbour
weights, the neighbours found on each input's ranks (so a log-spaced or skewed input is
measured by order, not distance)::

    I = Σ_ij w_ij r_i r_j / Σ_i r_i²        (r centred; Σ_j w_ij = 1)

and its z-score under independent residuals, with the moments of the normality assumption
(Cliff and Ord, *Spatial Processes*, 1981):
``E[I] = -1/(n-1)``, ``Var[I] = (n² S1 - n S2 + 3 S0²) / ((n² - 1) S0²) - E[I]²`` with
``S0 = Σ w_ij``, ``S1 = ½ Σ (w_ij + w_ji)²``, ``S2 = Σ_i (Σ_j w_ij + Σ_j w_ji)²``.

A smooth residual — a stand-in equation missing part of the law — gives a z-score of tens to
thousands; residual noise about 0 (above 2 in 2 of 100 noise-only fits). A systematic error of
a tenth of the noise variance is detected at 200 rows (the z-score grows with ``√n``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.stats import rankdata
from sklearn.neighbors import NearestNeighbors

#: neighbours per row of the weights
NEIGHBOURS = 10
#: residuals whose z-score is below this are noise (one-sided; 2.3 % of pure noise is above)
NOISE_Z = 2.0
#: rows used at most (a random subset beyond: the test's power is long saturated)
MAX_ROWS = 5000


def residual_z(X: np.ndarray, residual: np.ndarray, *, k: int = NEIGHBOURS,
               seed: int = 0) -> float:
    """Moran's z-score of ``residual`` over the ``k`` nearest neighbours in ``X`` (see the
    module docstring); ``nan`` where it is undefined (fewer than ``k + 2`` rows, no input
    column, residuals constant or not finite). ``ValueError`` where ``X`` does not have one row
    per residual or ``k`` is not a positive integer."""
    r = np.asarray(residual, dtype=np.float64).reshape(-1)
    X = np.asarray(X, dtype=np.float64)
    X = X[:, None] if X.ndim == 1 else X
    if X.ndim != 2 or X.shape[0] != len(r):
        raise ValueError(f"X must have one row per residual: X has shape {X.shape}, residual "
                         f"has {len(r)} values")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer (neighbours per row), got k={k!r}")
    if X.shape[1] == 0:  # no inputs: no neighbours to compare with
        return math.nan
    if len(r) > MAX_ROWS:
        keep = np.random.default_rng(seed).choice(len(r), MAX_ROWS, replace=False)
        X, r = X[keep], r[keep]
    n = len(r)
    if n < k + 2 or not np.all(np.isfinite(r)) or not np.all(np.isfinite(X)):
        return math.nan
    r = r - r.mean()
    total = float(r @ r)
    if total <= 0.0:
        return math.nan
    ranks = np.column_stack([rankdata(col) / n for col in X.T])
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(ranks).kneighbors(ranks)
    # drop each row itself (a duplicate row may come first: drop the row's own index, else the
    # farthest neighbour)
    rows = np.arange(n)[:, None]
    own = idx == rows
    own[~own.any(axis=1), -1] = True
    neighbours = idx[~own].reshape(n, k)
    moran = float(r @ r[neighbours].mean(axis=1)) / total
    # moments of the row-standardised weights w_ij = 1/k for j among i's neighbours
    w = sparse.csr_matrix((np.full(n * k, 1.0 / k), (np.repeat(np.arange(n), k),
                                                      neighbours.ravel())), shape=(n, n))
    both = w + w.T
    s1 = 0.5 * float(both.multiply(both).sum())
    s2 = float(((np.asarray(w.sum(axis=1)).ravel() + np.asarray(w.sum(axis=0)).ravel()) ** 2
                ).sum())
    s0 = float(n)
    expected = -1.0 / (n - 1)
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected ** 2
    if variance <= 0.0:
        return math.nan
    return (moran - expected) / math.sqrt(variance)


def is_noise(X: np.ndarray, residual: np.ndarray) -> bool:
    """Whether ``residual`` looks like noise: its z-score (:func:`residual_z`) is defined and
    below :data:`NOISE_Z`."""
    z = residual_z(X, residual)
    return bool(np.isfinite(z) and z < NOISE_Z)


__all__ = ["MAX_ROWS", "NEIGHBOURS", "NOISE_Z", "is_noise", "residual_z"]
