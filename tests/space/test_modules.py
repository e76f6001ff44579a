"""Labelled choices: candidates, names, labels, their α and bad input."""

import pytest
import torch
from torch import nn
from torch.func import functional_call

import dnas
from tests.helpers import Fn, SharedOpAndInput, activations


def test_list_candidates_get_index_names():
    c = dnas.LayerChoice([nn.ReLU(), nn.Tanh()])
    assert c.names == ("0", "1")
    assert c.label.startswith("layer_")

def test_arch_parameters_are_registered_everywhere():
    net = SharedOpAndInput()
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

def test_counting_candidate_helper():
    # the helper used across tests really counts calls
    f = Fn(torch.relu)
    f(torch.ones(1))
    assert f.calls == 1
    assert set(activations()) == {"sin", "square", "tanh", "relu"}
