"""Composition starts: a nested law (sin(x²), exp(c·x²)) that no single change of the smaller
graph's best equation reaches is one composition away (:mod:`dnas.estimators.compose`)."""

import numpy as np
import pytest
import torch

from dnas import Architecture
from dnas.estimators.compose import composed_starts, shift_label
from dnas.estimators.fitting import Evaluator, refine
from dnas.estimators.selection import ranked_candidates
from dnas.spaces.expression import ExpressionNetwork

PRIMS = ["none", "add", "mult", "sin", "exp", "square"]


def test_shift_label_moves_later_nodes_up():
    assert shift_label("k1_a_x2", 1) == "k2_a_x2"
    assert shift_label("k2_b_k1", 2) == "k3_b_k1"
    assert shift_label("k2_b_k1", 1) == "k3_b_k2"
    assert shift_label("k1_op", 2) == "k1_op"
    with pytest.raises(ValueError, match="not an expression-graph label"):
        shift_label("output_bias", 1)


def _networks(n_inputs=1):
    torch.manual_seed(0)
    small = ExpressionNetwork(n_inputs, 1, PRIMS).double()
    big = ExpressionNetwork(n_inputs, 2, PRIMS).double()
    return small, big


def _fit(net, X, y, choice):
    gen = torch.Generator().manual_seed(0)
    ev = Evaluator(net, X, y, "real", max_iter=100, n_starts=4, generator=gen)
    return ev, ev(Architecture({k: [v] for k, v in choice.items()}), True)


@pytest.mark.parametrize("law, start, inner, outer", [
    (lambda x: np.sin(x * x), "sin", "square", "sin"),          # f(s) -> f(g(s))
    (lambda x: 0.5 * np.exp(-x * x), "square", "square", "exp"),  # f(s) -> g(f(s))
    (lambda x: np.sin(x * x), "exp", "square", "sin"),           # f(s) -> h(g(s))
])
def test_one_composition_reaches_a_nested_law(law, start, inner, outer):
    X = np.random.default_rng(0).uniform(-1.5, 1.5, (120, 1))
    y = law(X[:, 0])
    small, big = _networks()
    _, cand = _fit(small, X, y, {"k1_a_x1": start, "k1_b_x1": "none", "k1_op": "add"})
    assert cand.mse > 1e-4 * np.var(y)  # the one-node equation cannot say it
    gen = torch.Generator().manual_seed(0)
    quick = Evaluator(big, X, y, "real", max_iter=30, n_starts=2, generator=gen)
    # no single change of the carried-over equation reaches the law ...
    starts = composed_starts(quick, small, cand)
    best = starts[0]
    assert best.mse <= 10 * quick.floor
    assert best.architecture["k1_a_x1"][0] == inner and best.architecture["k2_a_k1"][0] == outer
    assert best.outputs == (False, True)  # the new node is hidden
    assert [c.bic for c in starts] == sorted(c.bic for c in starts)


def test_a_single_change_does_not_reach_it():
    """The reason for the composition starts: refining the carried-over sin(x) one choice at a
    time stays away from sin(x²)."""
    X = np.random.default_rng(0).uniform(-1.5, 1.5, (120, 1))
    y = np.sin(X[:, 0] ** 2)
    small, big = _networks()
    _, cand = _fit(small, X, y, {"k1_a_x1": "sin", "k1_b_x1": "none", "k1_op": "add"})
    gen = torch.Generator().manual_seed(0)
    quick = Evaluator(big, X, y, "real", max_iter=30, n_starts=2, generator=gen)
    from dnas.estimators.fitting import carry_over

    carried = carry_over(quick, small, cand)
    ranked = {label: tuple(PRIMS) if not label.endswith("_op") else names
              for label, names in ranked_candidates(big).items()}
    ended = refine(quick, carried, ranked, bias_choice=True, max_passes=1)
    assert ended.mse > 100 * quick.floor


def test_composition_needs_exactly_one_more_node():
    X = np.random.default_rng(0).uniform(-1, 1, (50, 1))
    small, _ = _networks()
    ev, cand = _fit(small, X, X[:, 0], {"k1_a_x1": "add", "k1_b_x1": "none", "k1_op": "add"})
    with pytest.raises(ValueError, match="adds one node"):
        composed_starts(ev, small, cand)
