"""Readable equations: rounding, simplification, one scale for ratios, the output function."""

import numpy as np
import sympy
import torch

from dnas import DARTSRegressor
from dnas.estimators.equation import normalise_ratios, round_constants, tidy

torch.set_num_threads(1)
x1, x2 = sympy.symbols("x1 x2", real=True)
F = sympy.Float


def test_a_ratio_gets_the_conventional_scale():
    assert tidy(F(8.064) / (F(2.419) * x1 + F(8.064))) == 1 / (F(0.3) * x1 + 1)
    # no constant in the denominator: its first coefficient becomes 1
    e = normalise_ratios((F(2.0) * x1) / (F(2.0) * x1 + F(4.0) * x2))
    assert sympy.simplify(e - x1 / (x1 + 2 * x2)) == 0
    assert float(sympy.fraction(e)[1].as_coefficients_dict()[x1]) == 1.0


def test_tidy_rounds_and_keeps_plain_laws():
    assert tidy(F(2.00000001) * x1 + sympy.exp(F(5.0) * x2)) == 2 * x1 + sympy.exp(5 * x2)
    assert tidy(x1 / (x1 + x2)) == x1 / (x1 + x2)
    assert tidy(F(1e-12) * x1 + x2) == x2  # a coefficient fitted to zero is gone


def test_probability_output_is_the_logistic_of_the_simplified_graph():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (200, 1))
    y = 1 / (1 + np.exp(-(X[:, 0] - 0.5) / 0.1))
    est = DARTSRegressor(output_type="probability", random_state=0, max_epochs=3).fit(X, y)
    inner = sympy.Symbol("z")
    assert est.equation_.func == sympy.Pow  # 1/(1 + exp(...)), not SymPy's merged fraction
    z = sympy.solve(sympy.Eq(est.equation_, 1 / (1 + sympy.exp(-inner))), inner)
    assert z and sympy.simplify(z[0] - (10 * sympy.Symbol("x1", real=True) - 5)) == 0


def test_a_high_power_of_a_sum_is_rounded_but_not_simplified():
    x1, x2 = sympy.symbols("x1 x2", positive=True)
    # SymPy's simplify expands this into a polynomial of degree 1271 (minutes); tidy only rounds
    expr = 2.0 / (3.00001 + 0.5 * sympy.log(x1) + x2 / 7) ** 317.75 + 1.23456789 * x1
    assert tidy(expr) == round_constants(expr, 4)
    assert sympy.Float(1.235, 15) in tidy(expr).atoms(sympy.Float)


def test_a_power_of_a_long_sum_is_not_expanded():
    xs = sympy.symbols("x1:9", positive=True)
    # eight terms to the 6th power: 1,716 terms expanded; to the 12th, 50,388 (the memory ran out
    # on twenty terms)
    small = (sum(xs[:3]) + 1.5) ** 2
    big = (sum(sympy.Float(i + 1.5) * x for i, x in enumerate(xs)) + 1.5) ** 12 * xs[0]
    assert tidy(big) == round_constants(big, 4)
    from dnas.estimators.equation import MAX_EXPANSION, _expanded_terms

    assert _expanded_terms(big) > MAX_EXPANSION
    assert _expanded_terms(small) == 10  # (4 terms)²: simplified as before


def test_nested_powers_of_sums_are_counted_before_simplifying():
    from dnas.estimators.equation import _expanded_terms

    x1, x2, x3, x4 = sympy.symbols("x1:5", positive=True)
    inner = (x1 + x2 + x3 + x4 + sympy.Float(1.5)) ** 4  # 70 terms: each power alone is cheap
    nested = (inner + x1) ** 5 * x2  # but C(74, 5) ≈ 16 million terms expanded
    assert _expanded_terms(inner) == 70 and _expanded_terms(nested) > 10**7
    assert tidy(nested) == round_constants(nested, 4)
