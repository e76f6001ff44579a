"""Relaxation-level checks: gradients, sampling, sharing, the export rule."""

import pytest
import torch
from torch import nn

import dnas
from dnas.relaxations.drnas import _FixedSample
from tests.helpers import Fn, activations


class TwoShared(nn.Module):
    """Two choices with one label, and one with another."""

    def __init__(self):
        super().__init__()
        self.a = dnas.LayerChoice(activations(), label="shared")
        self.b = dnas.LayerChoice(activations(), label="shared")
        self.c = dnas.LayerChoice(activations(), label="other")

    def forward(self, x):
        return self.c(self.a(x) + self.b(x))


def test_methods_are_registered():
    assert {"darts", "fair-darts", "drnas", "gdas", "proxyless"} <= set(dnas.methods())


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown method='dartz'.*darts.*gdas"):
        dnas.relax(TwoShared(), "dartz")


@pytest.mark.parametrize("method", ["darts", "fair-darts", "drnas", "gdas", "proxyless"])
def test_shared_labels_share_alpha_and_samples(method):
    net = TwoShared()
    dnas.relax(net, method)
    assert net.a.arch is net.b.arch and net.a.arch.alpha is net.b.arch.alpha
    assert net.a.arch is not net.c.arch
    assert len(list(dnas.arch_parameters(net))) == 2
    names = [n for n, _ in net.named_parameters()]
    assert sum("alpha" in n for n in names) == 2  # the shared α is listed once
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        dnas.resample(net, g)
        wa, wb = net.a.arch.weights(), net.b.arch.weights()
        assert torch.equal(wa, wb)
    # one optimiser step on the shared α moves both choices
    before = net.a.arch.alpha.detach().clone()
    dnas.resample(net, g)
    net(torch.randn(8, 3)).sum().backward()
    torch.optim.SGD(dnas.arch_parameters(net), lr=1.0).step()
    assert not torch.equal(before, net.b.arch.alpha.detach())


def test_gdas_runs_only_the_sampled_candidate():
    choice = dnas.LayerChoice(activations(), label="e")
    dnas.relax(choice, "gdas")
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(30):
        for op in choice.candidates.values():
            op.calls = 0
        dnas.resample(choice, g)
        out = choice(torch.rand(5) + 0.5)  # every candidate non-zero there
        calls = [op.calls for op in choice.candidates.values()]
        assert sum(calls) == 1
        k = calls.index(1)
        seen.add(k)
        expected = list(choice.candidates.values())[k].fn
        out.sum().backward()  # straight-through: α gets a gradient through the soft sample
        assert choice.arch.alpha.grad is not None and choice.arch.alpha.grad.abs().sum() > 0
        choice.arch.alpha.grad = None
        assert expected is not None
    assert len(seen) > 1  # it really samples


def test_gdas_temperature_schedule():
    r = dnas.relax(TwoShared(), "gdas", tau_max=10.0, tau_min=0.1)
    r.set_progress(0.0)
    assert r.tau == 10.0
    r.set_progress(0.5)
    assert r.tau == pytest.approx(5.05)
    r.set_progress(1.0)
    assert r.tau == pytest.approx(0.1)


def test_gdas_needs_a_sample():
    choice = dnas.LayerChoice(activations(), label="e")
    dnas.relax(choice, "gdas")
    with pytest.raises(RuntimeError, match="resample"):
        choice(torch.randn(3))


def test_proxyless_gate_gradient_matches_the_softmax_jacobian_formula():
    torch.manual_seed(0)
    ops = {f"lin{j}": nn.Linear(3, 2, bias=False).double() for j in range(4)}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, "proxyless")
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.tensor([0.3, -0.2, 0.5, 0.1]))
    choice.double()
    x = torch.randn(5, 3, dtype=torch.float64)
    c = torch.randn(5, 2, dtype=torch.float64)
    for i in range(4):
        choice.arch.sample = i
        for op in ops.values():
            op.zero_grad()
        choice.arch.alpha.grad = None
        out = choice(x)
        assert torch.equal(out, list(ops.values())[i](x))
        (out * c).sum().backward()
        # closed form: ∂L/∂g_j = <c, o_j>, ∂L/∂α_k = Σ_j ∂L/∂g_j p_j (δ_jk - p_k)
        with torch.no_grad():
            dg = torch.stack([(c * op(x)).sum() for op in ops.values()])
            p = torch.softmax(choice.arch.alpha, 0)
            expected = p * dg - p * (p * dg).sum()
        torch.testing.assert_close(choice.arch.alpha.grad, expected)
        # only the sampled path's weights get a gradient
        for j, op in enumerate(ops.values()):
            assert (op.weight.grad is not None) == (j == i)


def test_proxyless_leaves_batchnorm_statistics_alone_and_runs_one_path_without_alpha_grad():
    ops = {"bn": nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)), "id": Fn(lambda x: x)}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, "proxyless")
    choice.arch.sample = 1  # identity sampled; the BN path only runs for its gate gradient
    before = ops["bn"][1].running_mean.clone()
    choice(torch.randn(6, 3)).sum().backward()
    assert torch.equal(ops["bn"][1].running_mean, before)
    ops["id"].calls = 0
    choice.arch.alpha.requires_grad_(False)
    choice(torch.randn(6, 3)).sum()
    assert ops["id"].calls == 1


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


def test_fair_darts_weights_and_zero_one_loss():
    choice = dnas.LayerChoice(activations(), label="e")
    r = dnas.relax(choice, "fair-darts", zero_one_weight=10.0)
    alpha = torch.tensor([0.0, 2.0, -2.0, 0.5])
    torch.testing.assert_close(r.weights(alpha, choice.arch), torch.sigmoid(alpha))
    expected = -10.0 * ((torch.sigmoid(alpha) - 0.5) ** 2).mean()
    torch.testing.assert_close(r.regularizer(alpha, choice.arch), expected)


def test_select_excludes_none_and_takes_top_k():
    choice = dnas.LayerChoice(activations(with_none=True), label="e", n_chosen=2)
    dnas.relax(choice, "darts")
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.tensor([5.0, 0.1, 2.0, 1.0, 0.0]))  # none strongest
    arch = dnas.derive(choice)
    assert arch["e"] == ("square", "tanh")


def test_input_choice_mixes_and_selects_top_k():
    ic = dnas.InputChoice(3, n_chosen=2, label="in")
    dnas.relax(ic, "darts")
    with torch.no_grad():
        ic.arch.alpha.copy_(torch.tensor([1.0, -1.0, 2.0]))
    xs = [torch.full((2,), float(i + 1)) for i in range(3)]
    w = torch.softmax(ic.arch.alpha.detach(), 0)
    torch.testing.assert_close(ic(xs), sum(w[i] * xs[i] for i in range(3)))
    assert dnas.derive(ic)["in"] == ("0", "2")
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        ic(xs[:2])
