"""Constant fits and the simplification pass of the regressor's discrete refinement."""

import numpy as np
import torch

from dnas import Architecture
from dnas.estimators.fitting import Evaluator, fit_constants, simplify
from dnas.estimators.selection import edge_costs
from dnas.spaces.expression import ExpressionNetwork
from dnas.spaces.expression.numeric import NumericEquation

torch.set_num_threads(1)


def _learning_curve(n=200, seed=0):
    x = np.random.default_rng(seed).uniform(0, 10, (n, 1))
    return x, 0.9 - 0.7 * np.exp(-0.4 * x[:, 0])


def test_multi_start_escapes_a_wrong_sign_start():
    X, y = _learning_curve()
    net = ExpressionNetwork(1, primitives=["none", "exp"], node_ops=("add",)).double()
    eq = NumericEquation(net, Architecture({"k1_a_x1": ["exp"]}))
    theta0 = np.array([1.4, 0.4, 0.0])  # c, a (wrong sign), bias
    mse, theta = fit_constants(eq, X, y, theta0, max_iter=100, n_starts=6,
                               generator=torch.Generator().manual_seed(0))
    assert mse < 1e-20
    np.testing.assert_allclose(theta, [-0.7, -0.4, 0.9], rtol=1e-8)


def test_logistic_output_fits_through_the_sigmoid():
    X = np.linspace(-3, 3, 50)[:, None]
    y = 1 / (1 + np.exp(-(2.0 * X[:, 0] - 0.5)))
    net = ExpressionNetwork(1, primitives=["none", "mult"], node_ops=("add",)).double()
    eq = NumericEquation(net, Architecture({"k1_a_x1": ["mult"]}))
    mse, theta = fit_constants(eq, X, y, logistic=True, max_iter=100, n_starts=2,
                               generator=torch.Generator().manual_seed(0))
    assert mse < 1e-20
    np.testing.assert_allclose(theta, [2.0, -0.5], rtol=1e-8)


def test_simplify_drops_a_constant_factor_with_its_product():
    """``x^0.001 · exp(-0.4x)`` fits as well as ``exp(-0.4x)``; removing the factor needs the
    node's product to become a sum in the same move."""
    X, y = _learning_curve()
    prims = ["none", "add", "mult", "exp", "power"]
    net = ExpressionNetwork(1, primitives=prims, node_ops=("add", "mul", "div")).double()
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=6,
                         generator=torch.Generator().manual_seed(0))
    product = Architecture({"k1_a_x1": ["power"], "k1_b_x1": ["exp"], "k1_op": ["mul"]})
    start = evaluate(product, True)
    best = simplify(evaluate, start, edge_costs(net), bias_choice=True)
    # the same law on either operand of the sum
    assert best.architecture["k1_op"] == ("add",)
    assert sorted([best.architecture["k1_a_x1"], best.architecture["k1_b_x1"]]) == [
        ("exp",), ("none",)]
    assert best.bic < start.bic


def test_simplify_stops_at_its_budget_of_careful_fits():
    X, y = _learning_curve()
    prims = ["none", "add", "mult", "exp", "power"]
    net = ExpressionNetwork(1, primitives=prims, node_ops=("add", "mul", "div")).double()

    def run(budget):
        evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=6,
                             generator=torch.Generator().manual_seed(0))
        start = evaluate(Architecture({"k1_a_x1": ["power"], "k1_b_x1": ["exp"],
                                       "k1_op": ["mul"]}), True)
        before = evaluate.fits
        best = simplify(evaluate, start, edge_costs(net), bias_choice=True, budget=budget)
        return best, start, evaluate.fits - before

    best, start, fits = run(0)
    assert fits == 0 and best is start  # no fit left: the equation as it came
    _, _, all_fits = run(None)
    assert all_fits > 3
    best, _, fits = run(3)  # checked before each label: at most one label's trials over
    most = max(len(c) for c in edge_costs(net).values()) + 2
    assert 3 <= fits <= 3 + most and fits < all_fits


def test_fewer_constants_win_between_forms_with_as_many_terms():
    """On noisy Luce-choice data ``x2/(a·x1 + b·x2) + c`` (= 1 − x2/(x1 + x2) at a = b = c = 1)
    fits a little closer than ``x1/(x1 + x2)`` by spending two more constants on the noise; the
    criterion must still prefer the law."""
    rng = np.random.default_rng(1000)
    X = rng.uniform(0.1, 2.0, (200, 2))
    y = X[:, 0] / (X[:, 0] + X[:, 1])
    y = y + 0.01 * np.std(y) * rng.standard_normal(200)
    net = ExpressionNetwork(2, primitives=["none", "add", "mult"]).double()
    with torch.no_grad():  # start the general form at the law
        net.edges["k1_b_x1"].candidates["mult"].a.fill_(-1.0)
        net.edges["k1_b_x2"].candidates["mult"].a.fill_(-1.0)
        net.out_bias.fill_(1.0)
    evaluate = Evaluator(net, X, y, "real", max_iter=100, n_starts=6,
                         generator=torch.Generator().manual_seed(0))
    law = evaluate(Architecture({"k1_a_x1": ["add"], "k1_a_x2": ["none"], "k1_b_x1": ["add"],
                                 "k1_b_x2": ["add"], "k1_op": ["div"]}), True)
    general = evaluate(Architecture({"k1_a_x1": ["none"], "k1_a_x2": ["add"], "k1_b_x1": ["mult"],
                                     "k1_b_x2": ["mult"], "k1_op": ["div"]}), True)
    assert general.mse < law.mse  # the extra constants do buy something...
    assert law.bic < general.bic  # ...but not enough


def test_evaluators_sharing_a_ledger_are_exhausted_together():
    from dnas.estimators.fitting import Ledger

    X = np.random.default_rng(0).uniform(1, 2, (50, 1))
    net = ExpressionNetwork(1, 1, primitives=("none", "mult", "power")).double()
    arch = Architecture({"k1_a_x1": ["power"], "k1_b_x1": ["none"], "k1_op": ["add"]})
    ledger = Ledger(limit=5)
    quick = Evaluator(net, X, 2 * X[:, 0] ** 1.5, "real", max_iter=15, n_starts=1,
                      generator=None, ledger=ledger)
    other = Evaluator(net, X, 2 * X[:, 0] ** 1.5, "real", max_iter=15, n_starts=1,
                      generator=None, ledger=ledger)
    assert not quick.exhausted and not other.exhausted
    quick(arch, True)  # a fit of one edge: one unit per evaluation, several evaluations
    assert ledger.spent >= 5 and quick.exhausted and other.exhausted
    assert not Evaluator(net, X, X[:, 0], "real", max_iter=15, n_starts=1,
                         generator=None).exhausted  # no ledger, no budget: never


def test_a_grace_allows_a_little_more_work_and_remembers_the_limit_was_reached():
    from dnas.estimators.fitting import Ledger

    ledger = Ledger(limit=100)
    ledger.spent = 120
    assert ledger.exhausted and not ledger.reached
    ledger.grace(30)
    assert not ledger.exhausted and ledger.reached
    ledger.spent = 150
    assert ledger.exhausted


def test_rank_ties_criteria_closer_than_the_round_off_of_other_processes_and_breaks_by_form():
    from dnas.arch.architecture import Architecture
    from dnas.estimators.fitting import TIE, Candidate, rank

    def cand(op, bic):
        return Candidate(Architecture({"k1_a_x1": [op]}), False, np.zeros(1), 1.0, bic)

    base = -1234.5
    a, b = cand("sin", base + 1e-7), cand("exp", base)  # equal up to another process' last bits
    assert rank(a) < rank(b) or rank(b) < rank(a)
    swapped = cand("sin", base), cand("exp", base + 1e-7)
    # the same order whichever of the two got the lower bits
    assert sorted([a, b], key=rank)[0].architecture == sorted(swapped, key=rank)[0].architecture
    assert sorted([cand("sin", base), cand("exp", base - 10 * TIE)], key=rank)[0].bic < base
    assert rank(cand("sin", float("inf"))) > rank(cand("exp", 1e300))
