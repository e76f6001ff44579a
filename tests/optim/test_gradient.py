"""Architecture gradients (DARTS eqs. 6-8): first order, second order by finite differences and
exactly, against each other and against a real optimiser step."""

import copy

import pytest
import torch

import dnas
from tests.helpers import bilevel_problem as make


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
