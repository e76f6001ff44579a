"""The functional passes leave the model's own Parameters in place when a module is reached along
several paths (a label's ArchParams shared by its choices, a reused submodule)."""

import pytest
import torch
from torch import nn

import dnas
from dnas.optim.gradient import architecture_gradient


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Linear(4, 4)
        self.again = self.block  # one module, two paths
        self.a = dnas.LayerChoice([nn.ReLU(), nn.Tanh()], label="op")
        self.b = dnas.LayerChoice([nn.ReLU(), nn.Tanh()], label="op")
        self.width = dnas.ValueChoice([2, 4], label="w")
        self.first = dnas.nn.Linear(4, self.width)
        self.second = dnas.nn.Linear(self.width, 3)

    def forward(self, x):
        return self.second(self.first(self.b(self.again(self.a(self.block(x))))))


@pytest.mark.parametrize("order", [1, 2])
def test_parameters_survive_the_hypergradient(order):
    torch.manual_seed(0)
    model = Shared()
    dnas.relax(model)
    before = {id(p) for p in model.parameters()}
    batch = (torch.randn(8, 4), torch.randint(0, 3, (8,)))
    opt = torch.optim.SGD(dnas.weight_parameters(model), lr=0.1, momentum=0.9)
    grads = architecture_gradient(model, nn.functional.cross_entropy, batch, batch, opt, order)
    assert set(grads) == {"op", "w"} and all(g.abs().sum() > 0 for g in grads.values())
    assert model.a.arch.alpha is model.b.arch.alpha
    assert model.first.value_choices[0].arch.alpha is model.width.arch.alpha
    for name, p in model.named_parameters(remove_duplicate=False):
        assert type(p) is nn.Parameter and id(p) in before, name
