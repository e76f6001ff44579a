"""Restarts of the discrete search rescue a failed search: when the searched α points to a wrong
architecture, refining it alone ends in a local optimum, while the selection's other starts
(one dense start per node combination, the smaller graph's best) reach the law."""

import numpy as np
import pytest
import torch

import dnas
from dnas import DARTSRegressor
from dnas.estimators.fitting import Evaluator, refine
from dnas.estimators.selection import ranked_candidates
from dnas.spaces.expression import ExpressionNetwork


def test_restarts_rescue_a_search_that_points_the_wrong_way():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 2, (150, 2))
    y = X[:, 0] / (X[:, 0] + X[:, 1])  # Luce's choice rule
    torch.manual_seed(0)
    net = ExpressionNetwork(2, 1, ["none", "add", "mult", "exp"]).double()
    wrong = {"k1_a_x1": "none", "k1_a_x2": "add", "k1_b_x1": "none", "k1_b_x2": "none",
             "k1_op": "div"}
    with torch.no_grad():  # a search that failed: α says x2 / c
        for label, group in dnas.space.arch_groups(net).items():
            group.alpha.zero_()
            group.alpha[group.names.index(wrong[label])] = 3.0
    gen = torch.Generator().manual_seed(0)
    quick = Evaluator(net, X, y, "real", max_iter=15, n_starts=2, generator=gen)
    final = Evaluator(net, X, y, "real", max_iter=100, n_starts=6, generator=gen)
    alone = refine(quick, quick(net.derive_architecture(), True), ranked_candidates(net),
                   bias_choice=True)
    assert alone.mse > 1e-6 * np.var(y)  # stuck short of the law
    best = DARTSRegressor()._select(net, final, quick, True, gen, None)
    assert best.mse < 1e-20 and best.bic < alone.bic - 1000
    assert best.architecture["k1_op"] == ("div",)


def test_a_relaxed_search_that_overflows_leaves_the_choice_to_the_discrete_search(monkeypatch):
    """A mixture that overflows (nested exponentials of large inputs) stops the relaxed search
    with a NonFiniteError; the fit goes on from the α before the search, says so, and still
    recovers the law by the discrete search's own finite fits."""
    from dnas.estimators import darts_regressor
    from dnas.runtime.finite import NonFiniteError

    def overflow(self):
        self.history.append({"epoch": 1})  # one epoch ran before the loss overflowed
        raise NonFiniteError("the training loss is inf at epoch 2, step 1",
                             quantity="training loss")

    monkeypatch.setattr(darts_regressor.Searcher, "run", overflow)
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (100, 2))
    y = (1.5 * X[:, 0] + 1) * (X[:, 1] - 0.5)  # no closed-form law of dnas.estimators.laws
    est = DARTSRegressor(num_graph_nodes=1, max_epochs=5, random_state=0)
    with pytest.warns(RuntimeWarning, match=r"relaxed search of the 1-node graph stopped "
                                            r"\(the training loss is inf.*initial α"):
        est.fit(X, y)
    assert est.n_epochs_ == 1
    assert all(torch.isfinite(g.alpha).all() for g in dnas.space.arch_groups(est.network_).values())
    assert est.score(X, y) > 1 - 1e-9


def test_the_short_fits_are_budgeted_and_the_search_returns_its_best_so_far():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 2, (100, 2))
    y = X[:, 0] / (X[:, 0] + X[:, 1])
    torch.manual_seed(0)
    net = ExpressionNetwork(2, 2, ["none", "add", "mult", "exp"]).double()
    start_arch = net.derive_architecture()
    counts = {}
    for budget in (None, 25):
        quick = Evaluator(net, X, y, "real", max_iter=15, n_starts=2,
                          generator=torch.Generator().manual_seed(0), budget=budget)
        start = quick(start_arch, True)
        end = refine(quick, start, ranked_candidates(net), bias_choice=True)
        counts[budget] = quick.fits
        assert end.bic <= start.bic
    assert counts[25] == 25 < counts[None]  # stopped at the budget, not before
    assert Evaluator(net, X, y, "real", max_iter=1, n_starts=1, generator=None,
                     budget=0).exhausted
