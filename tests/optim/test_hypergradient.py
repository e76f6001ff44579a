"""Architecture gradients: first order, second order (finite differences, exact), virtual step."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dnas
from dnas.optim.gradient import virtual_step
from tests.helpers import Fn


class Tiny(nn.Module):
    """Linear -> BatchNorm -> choice -> Linear -> choice (shared label) ... in float64."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.c1 = dnas.LayerChoice(
            {"tanh": Fn(torch.tanh), "sin": Fn(torch.sin), "soft": Fn(F.softplus)}, label="act"
        )
        self.l2 = nn.Linear(4, 4)
        self.c2 = dnas.LayerChoice(
            {"tanh": Fn(torch.tanh), "sin": Fn(torch.sin), "soft": Fn(F.softplus)}, label="act"
        )
        self.c3 = dnas.LayerChoice({"lin": nn.Linear(4, 1), "sum": Fn(lambda h: h.sum(-1, True))},
                                   label="head")

    def forward(self, x):
        return self.c3(self.c2(self.l2(self.c1(self.bn(self.l1(x))))))


def make(seed=0, momentum=0.9, weight_decay=3e-4, lr=0.5, nesterov=False, dampening=0.0):
    torch.manual_seed(seed)
    model = Tiny().double()
    dnas.relax(model, "darts")
    with torch.no_grad():
        for a in dnas.arch_parameters(model):
            a.copy_(torch.randn_like(a))
    opt = torch.optim.SGD(dnas.weight_parameters(model), lr=lr, momentum=momentum,
                          weight_decay=weight_decay, nesterov=nesterov, dampening=dampening)
    xt, xv = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)
    yt, yv = torch.sin(xt.sum(1, keepdim=True)), torch.sin(xv.sum(1, keepdim=True))
    loss = F.mse_loss
    # one real step so that the momentum buffer is non-zero
    loss(model(xt), yt).backward()
    opt.step()
    model.zero_grad(set_to_none=True)
    return model, opt, loss, (xt, yt), (xv, yv)


def flat(g):
    return torch.cat([g[k] for k in sorted(g)])


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_second_order_finite_difference_matches_exact():
    model, opt, loss, tb, vb = make()
    fd = dnas.architecture_gradient(model, loss, tb, vb, opt, order=2)
    exact = dnas.architecture_gradient(model, loss, tb, vb, opt, order=2, mode="exact")
    first = dnas.architecture_gradient(model, loss, tb, vb, opt, order=1)
    assert set(fd) == {"act", "head"}
    assert rel_err(flat(fd), flat(exact)) <= 1e-3
    # the second-order term matters here: both differ from the first-order gradient
    assert rel_err(flat(first), flat(exact)) > 1e-2
    assert rel_err(flat(first), flat(fd)) > 1e-2


def test_exact_mode_matches_numerical_derivative_of_the_unrolled_objective():
    """Independent check of the reference: L_val(w'(α), α) differentiated by central differences."""
    model, opt, loss, tb, vb = make(seed=1)
    exact = dnas.architecture_gradient(model, loss, tb, vb, opt, order=2, mode="exact")

    def unrolled(alpha_act: torch.Tensor) -> float:
        m = copy.deepcopy(model)
        o = torch.optim.SGD(dnas.weight_parameters(m), lr=0.5, momentum=0.9, weight_decay=3e-4)
        o.load_state_dict(copy.deepcopy(opt.state_dict()))  # load_state_dict aliases buffers
        with torch.no_grad():
            m.c1.arch.alpha.copy_(alpha_act)
        loss(m(tb[0]), tb[1]).backward()
        o.step()  # the real optimiser's step
        with torch.no_grad():
            return loss(m(vb[0]), vb[1]).item()

    a0 = model.c1.arch.alpha.detach().clone()
    h = 1e-6
    numeric = torch.stack([
        torch.tensor((unrolled(a0 + h * e) - unrolled(a0 - h * e)) / (2 * h), dtype=torch.float64)
        for e in torch.eye(3, dtype=torch.float64)
    ])
    torch.testing.assert_close(exact["act"], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("nesterov,dampening", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_virtual_step_equals_the_optimiser_step(nesterov, dampening):
    model, opt, loss, tb, _ = make(nesterov=nesterov, dampening=dampening)
    params = dict(model.named_parameters())
    w = {n: p.detach() for n, p in params.items() if "alpha" not in n}
    loss(model(tb[0]), tb[1]).backward()
    grads = {n: params[n].grad for n in w}
    w_prime, _ = virtual_step(w, grads, opt, {n: params[n] for n in w})
    opt.step()
    for n in w:
        torch.testing.assert_close(w_prime[n], params[n].detach(), rtol=0, atol=1e-12)


def test_virtual_step_hand_computed_momentum_and_weight_decay():
    p = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.state[p]["momentum_buffer"] = torch.tensor([0.2], dtype=torch.float64)
    g = torch.tensor([0.5], dtype=torch.float64)
    w_prime, scale = virtual_step({"p": p.detach()}, {"p": g}, opt, {"p": p})
    # w' = w - lr (μ·buf + g + λ·w) = 1 - 0.1 (0.18 + 0.5 + 0.01) = 0.931
    assert w_prime["p"].item() == pytest.approx(0.931, abs=1e-15)
    assert scale["p"] == pytest.approx(0.1)
    # without a momentum buffer (first step) torch uses buf = g + λ·w
    opt.state[p].clear()
    w_prime, _ = virtual_step({"p": p.detach()}, {"p": g}, opt, {"p": p})
    assert w_prime["p"].item() == pytest.approx(1 - 0.1 * 0.51, abs=1e-15)


def test_hypergradient_leaves_model_state_untouched():
    model, opt, loss, tb, vb = make()
    before = copy.deepcopy(model.state_dict())
    opt_before = copy.deepcopy(opt.state_dict())
    for order, mode in [(1, "finite-difference"), (2, "finite-difference"), (2, "exact")]:
        dnas.architecture_gradient(model, loss, tb, vb, opt, order=order, mode=mode)
    after = model.state_dict()
    for k in before:
        assert torch.equal(before[k], after[k]), k  # BN running stats included
    assert all(p.grad is None for p in model.parameters())
    assert str(opt.state_dict()) == str(opt_before)


def test_first_order_is_the_plain_validation_gradient():
    model, opt, loss, tb, vb = make()
    g = dnas.architecture_gradient(model, loss, tb, vb, opt, order=1)
    bn = copy.deepcopy(model.bn.state_dict())
    loss(model(vb[0]), vb[1]).backward()
    model.bn.load_state_dict(bn)
    torch.testing.assert_close(g["act"], model.c1.arch.alpha.grad)
    torch.testing.assert_close(g["head"], model.c3.arch.alpha.grad)


def test_bad_arguments():
    model, opt, loss, tb, vb = make()
    with pytest.raises(ValueError, match="order=3"):
        dnas.architecture_gradient(model, loss, tb, vb, opt, order=3)
    with pytest.raises(ValueError, match="needs w_optimizer"):
        dnas.architecture_gradient(model, loss, tb, vb, None, order=2)
    adam = torch.optim.Adam(dnas.weight_parameters(model))
    with pytest.raises(ValueError, match="Adam"):
        dnas.architecture_gradient(model, loss, tb, vb, adam, order=2)
    with pytest.raises(ValueError, match="mode='magic'"):
        dnas.architecture_gradient(model, loss, tb, vb, opt, order=2, mode="magic")
    dnas.relax(model, "proxyless")
    with pytest.raises(ValueError, match="twice-differentiable"):
        dnas.architecture_gradient(model, loss, tb, vb, opt, order=2, mode="exact")
