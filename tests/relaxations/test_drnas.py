"""DrNAS: the Dirichlet sample, its implicit reparameterisation gradient, the KL regulariser."""

import pytest
import torch

import dnas
from dnas.relaxations.drnas import _FixedSample
from tests.helpers import activations


def test_drnas_gradient_flows_through_the_dirichlet_sample():
    choice = dnas.LayerChoice(activations(), label="e")
    dnas.relax(choice, "drnas")
    g = torch.Generator().manual_seed(0)
    dnas.resample(choice, g)
    theta = choice.arch.sample
    assert torch.all(theta > 0) and torch.isclose(theta.sum(), torch.tensor(1.0))
    w = choice.arch.weights()
    torch.testing.assert_close(w, theta)  # forward value is the drawn sample
    choice(torch.randn(7)).sum().backward()
    assert choice.arch.alpha.grad.abs().sum() > 0

def test_drnas_sample_gradient_equals_torch_implicit_reparameterisation():
    conc = torch.tensor([1.5, 0.7, 2.0, 1.0], dtype=torch.float64, requires_grad=True)
    torch.manual_seed(3)
    x = torch.distributions.Dirichlet(conc).rsample()
    c = torch.randn(4, dtype=torch.float64)
    (expected,) = torch.autograd.grad((x * c).sum(), conc)
    (got,) = torch.autograd.grad((_FixedSample.apply(conc, x.detach()) * c).sum(), conc)
    torch.testing.assert_close(got, expected)

def test_drnas_regulariser_is_kl_to_uniform_dirichlet():
    choice = dnas.LayerChoice(activations(), label="e")
    r = dnas.relax(choice, "drnas", reg_weight=0.5)
    alpha = torch.zeros(4)  # elu(0) + 1 = 1: Dir(1) itself
    assert r.regularizer(alpha, choice.arch).item() == pytest.approx(0.0, abs=1e-6)
    assert r.regularizer(torch.tensor([2.0, 0, 0, 0]), choice.arch).item() > 0
