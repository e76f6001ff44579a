"""Binding labels: shared α, the parameter split, resampling, the summary."""

import pytest
import torch
from torch import nn

import dnas
from tests.helpers import SharedOpAndInput


def test_parameter_split_is_disjoint_and_complete():
    net = SharedOpAndInput()
    arch = {id(p) for p in dnas.arch_parameters(net)}
    weights = {id(p) for p in dnas.weight_parameters(net)}
    assert arch.isdisjoint(weights)
    assert arch | weights == {id(p) for p in net.parameters()}
    assert len(arch) == 2  # "op" shared, "in"

def test_shared_label_with_different_candidates_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = dnas.LayerChoice({"x": nn.ReLU(), "y": nn.Tanh()}, label="e")
            self.b = dnas.LayerChoice({"x": nn.ReLU(), "z": nn.Tanh()}, label="e")

    with pytest.raises(ValueError, match=r"sharing label 'e' must have the same candidates"):
        dnas.arch_parameters(Bad()).__next__()
    with pytest.raises(ValueError, match="same candidates"):
        dnas.search(Bad(), (torch.zeros(4, 1), torch.zeros(4)), (torch.zeros(4, 1), torch.zeros(4)),
                    epochs=1)

def test_summary_lists_every_label_with_its_distribution():
    net = SharedOpAndInput()
    dnas.relax(net, "darts")
    with torch.no_grad():
        net.a.arch.alpha.copy_(torch.tensor([2.0, 0.0]))
    text = dnas.summary(net)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["label", "kind", "uses", "method", "top"]
    row = next(line for line in lines if line.startswith("op "))
    assert " 2 " in row and "darts" in row and "0=0.881" in row and "1=0.119" in row
    assert any(line.startswith("in ") for line in lines)


def test_bind_is_idempotent_and_names_are_usable_with_functional_call():
    net = SharedOpAndInput()
    first = dnas.space.bind(net)
    assert dnas.space.bind(net) == first and net.a.arch is net.b.arch
    named = dnas.space.named_arch_parameters(net)
    assert set(named) == {"op", "in"}
    name, alpha = named["op"]
    assert dict(net.named_parameters())[name] is alpha
    weights = dnas.space.named_weight_parameters(net)
    assert all(p is not alpha for p in weights.values())
    x = torch.randn(2, 3)
    base = net(x)
    out = torch.func.functional_call(net, {name: torch.tensor([9.0, -9.0])}, (x,),
                                     tie_weights=False)
    assert not torch.allclose(out, base)
    assert net.a.arch.alpha is alpha and net.b.arch.alpha is alpha
    torch.testing.assert_close(net(x), base)


def test_shared_label_with_different_n_chosen_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = dnas.LayerChoice([nn.ReLU(), nn.Tanh()], label="e")
            self.b = dnas.LayerChoice([nn.ReLU(), nn.Tanh()], label="e", n_chosen=2)

    with pytest.raises(ValueError, match="disagree on n_chosen: 1 at 'a', 2 at 'b'"):
        dnas.space.bind(Bad())


def test_resample_draws_one_sample_per_label():
    net = SharedOpAndInput()
    dnas.relax(net, "gdas")
    dnas.resample(net, torch.Generator().manual_seed(0))
    assert net.a.arch.sample is net.b.arch.sample and net.inp.arch.sample is not None
    index = net.a.arch.sample[1]
    g = torch.Generator().manual_seed(0)
    draws = set()
    for _ in range(20):
        dnas.resample(net, g)
        draws.add(net.a.arch.sample[1])
    assert len(draws) == 2 and index in draws  # both candidates of "op" come up


@pytest.mark.parametrize("call", [dnas.derive, dnas.summary,
                                  lambda m: dnas.fix(m, dnas.Architecture({})),
                                  lambda m: list(dnas.arch_parameters(m))])
def test_a_model_that_is_not_a_module_is_named(call):
    with pytest.raises(TypeError, match=r"^model must be an nn.Module, got str"):
        call("net")


@pytest.mark.parametrize("options,match", [
    ({"digits": -1}, r"^digits=-1 must be an integer in \[0, 17\]"),
    ({"digits": "3"}, r"^digits='3' must be an integer"),
    ({"cost": 3}, r"^cost=3 must be a dnas.cost.CostModel, one of 'params', 'flops', 'latency'"),
])
def test_summary_options_are_checked(options, match):
    model = nn.Sequential(dnas.LayerChoice([nn.Identity(), nn.Identity()], label="a"))
    with pytest.raises(ValueError, match=match):
        dnas.summary(model, **options)


def test_resample_names_a_generator_that_is_not_one():
    model = nn.Sequential(dnas.LayerChoice([nn.Identity(), nn.Identity()], label="a"))
    with pytest.raises(TypeError, match=r"^generator=3 must be a torch.Generator"):
        dnas.resample(model, generator=3)
    dnas.resample(model, torch.Generator().manual_seed(0))  # a generator is taken
