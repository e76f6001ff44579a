"""Search-space API: choices, labels, parameter split, summary."""

import pytest
import torch
from torch import nn
from torch.func import functional_call

import dnas
from tests.helpers import Fn, activations


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.a = dnas.LayerChoice([nn.Linear(3, 3), nn.Identity()], label="op")
        self.b = dnas.LayerChoice([nn.Linear(3, 3), nn.Identity()], label="op")
        self.inp = dnas.InputChoice(2, 1, label="in")

    def forward(self, x):
        h = self.lin(x)
        return self.inp([self.a(h), self.b(h)])


def test_list_candidates_get_index_names():
    c = dnas.LayerChoice([nn.ReLU(), nn.Tanh()])
    assert c.names == ("0", "1")
    assert c.label.startswith("layer_")


def test_parameter_split_is_disjoint_and_complete():
    net = Net()
    arch = {id(p) for p in dnas.arch_parameters(net)}
    weights = {id(p) for p in dnas.weight_parameters(net)}
    assert arch.isdisjoint(weights)
    assert arch | weights == {id(p) for p in net.parameters()}
    assert len(arch) == 2  # "op" shared, "in"


def test_arch_parameters_are_registered_everywhere():
    net = Net()
    dnas.relax(net)
    keys = net.state_dict().keys()
    assert "a.arch.alpha" in keys and "inp.arch.alpha" in keys
    if torch.cuda.is_available():  # pragma: no cover - CI has no GPU
        net.cuda()
        assert all(p.is_cuda for p in dnas.arch_parameters(net))
    net.double()
    assert all(p.dtype == torch.float64 for p in dnas.arch_parameters(net))
    # visible to functional_call: substituting α changes the output
    x = torch.randn(4, 3, dtype=torch.float64)
    base = net(x)
    out = functional_call(net, {"a.arch.alpha": torch.tensor([5.0, -5.0], dtype=torch.float64)},
                          (x,))
    assert not torch.allclose(base, out)


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


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"candidates": []}, "empty"),
        ({"candidates": "relu"}, "dict of name"),
        ({"candidates": {"a.b": nn.ReLU()}}, "without '.'"),
        ({"candidates": {"a": 3}}, "expected an nn.Module"),
        ({"candidates": [nn.ReLU()], "label": "x.y"}, "label='x.y'"),
        ({"candidates": [nn.ReLU()], "n_chosen": 2}, "n_chosen=2"),
    ],
)
def test_layer_choice_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dnas.LayerChoice(**kwargs)


def test_input_choice_bad_input():
    with pytest.raises(ValueError, match="n_candidates=0"):
        dnas.InputChoice(0)
    with pytest.raises(ValueError, match="n_chosen=3"):
        dnas.InputChoice(2, 3)
    with pytest.raises(ValueError, match="reduction='max'"):
        dnas.InputChoice(2, reduction="max")


def test_summary_lists_every_label_with_its_distribution():
    net = Net()
    dnas.relax(net, "darts")
    with torch.no_grad():
        net.a.arch.alpha.copy_(torch.tensor([2.0, 0.0]))
    text = dnas.summary(net)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["label", "kind", "uses", "method", "top"]
    row = next(line for line in lines if line.startswith("op "))
    assert " 2 " in row and "darts" in row and "0=0.881" in row and "1=0.119" in row
    assert any(line.startswith("in ") for line in lines)


def test_counting_candidate_helper():
    # the helper used across tests really counts calls
    f = Fn(torch.relu)
    f(torch.ones(1))
    assert f.calls == 1
    assert set(activations()) == {"sin", "square", "tanh", "relu"}
