"""The budget penalty: its forms, its gradient, and the export rule that lands in the band."""

import math

import pytest
import torch

import dnas
import dnas.nn as dnn
from dnas.cost import BudgetPenalty, CostModel, penalty
from tests.cost.helpers import all_architectures, example_input, small_space


def test_penalty_forms():
    e = torch.tensor(110.0)
    assert float(penalty(e, 100.0, "abs")) == pytest.approx(math.log(1.1))
    assert float(penalty(torch.tensor(90.0), 100.0, "abs")) == pytest.approx(-math.log(0.9))
    assert float(penalty(e, 100.0, "squared")) == pytest.approx(math.log(1.1) ** 2)
    assert float(penalty(torch.tensor(90.0), 100.0, "hinge")) == 0
    assert float(penalty(e, 100.0, "hinge")) == pytest.approx(math.log(1.1))
    with pytest.raises(ValueError, match="cost_penalty='l1'"):
        penalty(e, 100.0, "l1")


def test_gradient_is_the_penalty_gradient_and_pulls_towards_the_budget():
    torch.manual_seed(0)
    net = small_space().double()
    dnas.relax(net)
    cm = CostModel(net, "params")
    e0 = float(cm.expected().detach())
    for budget, sign in ((e0 * 0.5, -1), (e0 * 2, 1)):
        pen = BudgetPenalty(cm, budget, weight=2.0)
        grads = pen.gradients()
        alphas = {k: cm.groups[k].alpha.detach().clone().requires_grad_(True) for k in cm.labels}
        ref = torch.autograd.grad(2.0 * penalty(cm.expected(alphas), budget), list(alphas.values()))
        for g, r in zip(grads.values(), ref):
            torch.testing.assert_close(g, r)
        # a small step against the gradient moves the expected cost towards the budget
        stepped = {k: cm.groups[k].alpha.detach() - 0.1 * g for k, g in grads.items()}
        assert sign * (float(cm.expected(stepped)) - e0) > 0


def test_export_keeps_an_architecture_in_band_and_moves_one_outside():
    w = dnas.ValueChoice([4, 8, 16, 32], label="w")
    net = torch.nn.Sequential(dnn.Linear(10, w), torch.nn.ReLU(), dnn.Linear(w, 10))
    dnas.relax(net)
    with torch.no_grad():
        w.arch.alpha.copy_(torch.tensor([2.0, 1.0, 0.5, 0.0]))  # argmax: the narrowest
    cm = CostModel(net, "params")
    arch = dnas.derive(net)
    assert cm.cost(arch) == 4 * 10 + 4 + 4 * 10 + 10
    inside = BudgetPenalty(cm, cm.cost(arch) * 1.05).export(arch)
    assert inside["w"] == (4,) and inside.meta["cost"]["moved"] == []
    target = cm.cost({"w": 16})
    moved = BudgetPenalty(cm, target).export(arch)
    assert moved["w"] == (16,) and moved.meta["cost"]["value"] == target
    assert moved.meta["cost"]["within_budget"] and moved.meta["cost"]["argmax"] == cm.cost(arch)
    hinge = BudgetPenalty(cm, cm.cost({"w": 8}) * 0.95, form="hinge").export(
        dnas.Architecture({"w": 32}))
    assert hinge["w"] == (4,)  # a cap: the most probable architecture below it
    out_of_reach = BudgetPenalty(cm, 10.0).export(arch)
    assert not out_of_reach.meta["cost"]["within_budget"] and out_of_reach["w"] == (4,)


def test_bad_options():
    cm = CostModel(torch.nn.Sequential(dnn.Linear(2, dnas.ValueChoice([1, 2]))), "params")
    for kwargs, match in (({"budget": 0}, "budget=0"), ({"budget": 5, "weight": -1},
                          "cost_weight"), ({"budget": 5, "form": "x"}, "cost_penalty"),
                          ({"budget": 5, "tolerance": 1.5}, "budget_tolerance")):
        with pytest.raises(ValueError, match=match):
            BudgetPenalty(cm, **kwargs)


@pytest.mark.parametrize("kind", ["params", "flops"])
def test_reachable_is_the_cheapest_and_the_dearest_architecture(kind):
    net = small_space()
    cm = CostModel(net, kind, example_input())
    costs = [cm.cost(a) for a in all_architectures(net)]
    assert BudgetPenalty(cm, 1.0).reachable() == (min(costs), max(costs))


def test_an_out_of_reach_budget_is_refused_with_the_range():
    net = small_space()
    cm = CostModel(net, "params")
    low, high = BudgetPenalty(cm, 1.0).reachable()
    for budget in (low * 0.5, high * 2):
        with pytest.raises(ValueError, match=rf"budget={budget:g} is out of reach: .* cost "
                                             rf"{low:,.0f} to {high:,.0f} parameters"):
            BudgetPenalty(cm, budget).check_reachable()
    # the band reaches the range: accepted; a cap above every architecture binds nothing: accepted
    BudgetPenalty(cm, low * 0.95).check_reachable()
    BudgetPenalty(cm, high * 1.05).check_reachable()
    BudgetPenalty(cm, high * 10, form="hinge").check_reachable()
    with pytest.raises(ValueError, match="at most the budget"):
        BudgetPenalty(cm, low * 0.5, form="hinge").check_reachable()
