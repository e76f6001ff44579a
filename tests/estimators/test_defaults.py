"""The default primitive set reaches the common shapes in one edge: here the shifted logarithm
(Hick's law, ``log(n + 1)``), which ``ln`` alone cannot say."""

import numpy as np
import sympy

from dnas import DARTSRegressor
from dnas.spaces.expression.primitives import DEFAULT_PRIMITIVES


def test_hicks_law_with_the_defaults():
    assert {"ln", "linear_ln"} <= set(DEFAULT_PRIMITIVES)
    X = np.random.default_rng(7).uniform(1, 10, (200, 1))
    y = 0.2 * np.log(X[:, 0] + 1)
    est = DARTSRegressor(random_state=0).fit(X, y)
    x1 = sympy.Symbol("x1", real=True)
    assert sympy.simplify(est.equation_ - 0.2 * sympy.log(x1 + 1)).is_number
    assert est.score(X, y) > 1 - 1e-12
