"""Moving an exported architecture into the budget band by a score (the supernet's validation
loss) instead of by α: the ranking of moves, the score itself, and the search option."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dnas
import dnas.nn as dnn
from dnas.bilevel import SearchConfig
from dnas.cost import BudgetPenalty, CostModel, validation_loss


def _two_widths() -> nn.Module:
    a = dnas.ValueChoice([4, 16], label="a")
    b = dnas.ValueChoice([4, 16], label="b")
    return nn.Sequential(dnn.Linear(10, a), nn.ReLU(), dnn.Linear(a, 10), nn.ReLU(),
                         dnn.Linear(10, b), nn.ReLU(), dnn.Linear(b, 10))


def test_a_score_ranks_the_moves_instead_of_alpha():
    net = _two_widths()
    dnas.relax(net)
    groups = dnas.space.arch_groups(net)
    with torch.no_grad():  # both at 16 (over budget); α gives up less by narrowing "a"
        groups["a"].alpha.copy_(torch.tensor([0.0, 0.5]))
        groups["b"].alpha.copy_(torch.tensor([0.0, 3.0]))
    cm = CostModel(net, "params")
    start = dnas.derive(net)
    assert start["a"] == (16,) and start["b"] == (16,)
    budget = cm.cost({"a": 4, "b": 16})
    assert cm.cost({"a": 16, "b": 4}) == budget  # two moves reach the band, equal in cost
    by_alpha = BudgetPenalty(cm, budget).export(start)
    assert by_alpha["a"] == (4,) and by_alpha["b"] == (16,)
    assert by_alpha.meta["cost"]["export"] == "probability"

    seen = []

    def score(arch: dnas.Architecture) -> float:  # prefers a wide "a": the other move
        seen.append((arch["a"][0], arch["b"][0]))
        return 1.0 / arch["a"][0] + 0.01 * arch["b"][0]

    by_score = BudgetPenalty(cm, budget).export(start, score)
    assert by_score["a"] == (16,) and by_score["b"] == (4,)
    meta = by_score.meta["cost"]
    assert meta["export"] == "score" and meta["within_budget"] and meta["moved"] == ["b"]
    assert meta["score"]["start"] == pytest.approx(1 / 16 + 0.16)
    assert meta["score"]["exported"] == pytest.approx(1 / 16 + 0.04)
    assert len(seen) == len(set(seen)) == meta["score"]["evaluated"] == 3  # each scored once


def test_a_score_is_not_called_when_the_architecture_is_already_in_band():
    net = _two_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    start = dnas.Architecture({"a": 4, "b": 4})

    def score(arch):
        raise AssertionError("scored an architecture already in band")

    out = BudgetPenalty(cm, cm.cost(start)).export(start, score)
    assert out["a"] == (4,) and "score" not in out.meta["cost"]


def test_a_nan_score_is_refused():
    net = _two_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    with pytest.raises(ValueError, match="NaN"):
        BudgetPenalty(cm, cm.cost({"a": 4, "b": 4})).export(
            dnas.Architecture({"a": 16, "b": 16}), lambda arch: float("nan"))


def test_validation_loss_is_the_fixed_networks_loss_with_batch_statistics():
    torch.manual_seed(0)
    w = dnas.ValueChoice([3, 6], label="w")
    net = nn.Sequential(dnn.Linear(5, w), dnn.BatchNorm1d(w), nn.ReLU(), dnn.Linear(w, 2))
    dnas.relax(net)
    X, y = torch.randn(40, 5), torch.randint(0, 2, (40,))
    batches = [(X[:32], y[:32]), (X[32:], y[32:])]
    score = validation_loss(net, batches)
    for width in (3, 6):
        arch = dnas.Architecture({"w": width})
        fixed = dnas.fix(net, arch).train()
        with torch.no_grad():
            want = (F.cross_entropy(fixed(X[:32]), y[:32]) * 32
                    + F.cross_entropy(fixed(X[32:]), y[32:]) * 8) / 40
        assert score(arch) == pytest.approx(float(want), rel=1e-6)
    assert score(dnas.Architecture({"w": 3})) != score(dnas.Architecture({"w": 6}))
    running = [m.running_mean.clone() for m in net.modules() if hasattr(m, "running_mean")]
    score(dnas.Architecture({"w": 6}))  # the supernet's statistics stay as they were
    after = [m.running_mean for m in net.modules() if hasattr(m, "running_mean")]
    assert all(torch.equal(a, b) for a, b in zip(running, after))
    with pytest.raises(ValueError, match="at least one batch"):
        validation_loss(net, [])


class WidthNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        w = dnas.ValueChoice([4, 8, 16, 32], label="w")
        w2 = dnas.ValueChoice([4, 8, 16, 32], label="w2")
        self.body = nn.Sequential(dnn.Linear(6, w), nn.ReLU(), dnn.Linear(w, w2), nn.ReLU(),
                                  dnn.Linear(w2, 3))

    def forward(self, x):
        return self.body(x)


def _data(n=128):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return (X[: n // 2], y[: n // 2]), (X[n // 2 :], y[n // 2 :])


def test_search_with_budget_export_validation_moves_by_the_supernets_loss():
    cost = CostModel(WidthNet(), "params")
    budget = cost.cost({"w": 8, "w2": 8})
    kwargs = dict(method="darts", epochs=2, batch_size=16, cost="params", budget=budget,
                  cost_weight=0.0, arch_lr=0.0, device="cpu", seed=0)  # α stays uniform
    torch.manual_seed(0)
    result = dnas.search(WidthNet(), *_data(), budget_export="validation", **kwargs)
    meta = result.architecture.meta["cost"]
    assert meta["within_budget"] and meta["export"] == "score" and meta["moved"]
    # the recorded score is the trained supernet's loss on the validation split at the export
    _, valid = _data()
    assert meta["score"]["exported"] == pytest.approx(
        validation_loss(result.model, [valid])(result.architecture), rel=1e-5)
    torch.manual_seed(0)
    plain = dnas.search(WidthNet(), *_data(), **kwargs)
    assert plain.architecture.meta["cost"]["export"] == "probability"


def test_budget_export_is_checked():
    with pytest.raises(ValueError, match="budget_export='loss'.*probability.*validation"):
        SearchConfig(cost="params", budget=10.0, budget_export="loss")
