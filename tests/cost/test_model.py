"""The cost model: exact at every architecture (parameters of the fixed model, FLOPs as
torch.utils.flop_counter counts them on it), the expectation under α exact at one-hot α and
equal to the brute-force expectation, and differentiable."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import dnas
import dnas.nn as dnn
from dnas.cost import CostModel
from tests.cost.helpers import all_architectures, example_input, small_space


def _flops(model, x):
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("dim", [1, 2])
def test_exact_cost_is_the_fixed_models(dim):
    torch.manual_seed(0)
    net = small_space(dim)
    x = example_input(dim)
    params, flops = CostModel(net, "params"), CostModel(net, "flops", x)
    archs = list(all_architectures(net))
    assert len(archs) == 2 * 2 * 2 * 2 * 3 * 2 * 2
    for arch in archs[::7]:
        fixed = dnas.fix(net, arch).eval()
        assert params.cost(arch) == sum(p.numel() for p in fixed.parameters())
        assert flops.cost(arch) == _flops(fixed, x[:1]) > 0


def test_expected_cost_is_the_brute_force_expectation_and_exact_at_one_hot():
    torch.manual_seed(0)
    net = small_space(1).double()
    dnas.relax(net)
    groups = dnas.space.arch_groups(net)
    with torch.no_grad():
        for g in groups.values():
            g.alpha.normal_()
    cm = CostModel(net, "params")
    p = {k: torch.softmax(g.alpha.detach(), 0) for k, g in groups.items()}
    brute = 0.0
    for arch in all_architectures(net):
        idx = cm.indices(arch) | {k: groups[k].names.index(str(arch[k][0]))
                                  for k in groups if k not in cm.labels}
        prob = 1.0
        for k in groups:
            prob *= float(p[k][idx[k]])
        brute += prob * cm.cost(arch)
    assert float(cm.expected().detach()) == pytest.approx(brute, rel=1e-12)
    # one-hot α: the expectation is the cost of that architecture, for every relaxation's map
    for method in ("darts", "gdas", "drnas", "fair-darts", "binary", "moving-average"):
        dnas.relax(net, method)
        for arch in list(all_architectures(net))[::11]:
            alphas = {}
            for k, g in groups.items():
                a = torch.full((len(g.names),), -1e4, dtype=torch.float64)
                a[cm.indices(arch)[k] if k in cm.labels else 0] = 1e4
                alphas[k] = a
            assert float(cm.expected(alphas)) == cm.cost(arch), method


def test_expected_cost_is_differentiable():
    torch.manual_seed(0)
    net = small_space(1).double()
    dnas.relax(net)
    cm = CostModel(net, "flops", example_input(1).double())
    labels = cm.labels
    alphas = [torch.randn(len(cm.groups[k].names), dtype=torch.float64, requires_grad=True)
              for k in labels]
    assert torch.autograd.gradcheck(lambda *a: cm.expected(dict(zip(labels, a))), alphas)
    grads = torch.autograd.grad(cm.expected(), [cm.groups[k].alpha for k in labels])
    assert all(g.abs().sum() > 0 for g in grads)  # every label moves the cost


def test_layer_choice_keeping_two_and_bad_inputs_are_errors():
    net = torch.nn.Sequential(dnas.LayerChoice([torch.nn.Linear(2, 2), torch.nn.Identity(),
                                                torch.nn.Tanh()], n_chosen=2))
    with pytest.raises(ValueError, match="keeps 2 candidates"):
        CostModel(net, "params")
    with pytest.raises(ValueError, match="cost='watts'"):
        CostModel(small_space(), "watts")
    with pytest.raises(ValueError, match="needs example_input"):
        CostModel(small_space(), "flops")
    with pytest.raises(ValueError, match="cannot take example_input"):
        CostModel(small_space(), "flops", torch.randn(2, 3, 12))
    with pytest.raises(ValueError, match="no choices"):
        CostModel(torch.nn.Linear(2, 2), "params")


def test_summary_shows_expected_and_argmax_cost():
    net = torch.nn.Sequential(dnn.Linear(3, dnas.ValueChoice([2, 4], label="w")))
    dnas.relax(net)
    text = dnas.summary(net, cost="params")
    assert "cost (params): expected 12, argmax" in text
