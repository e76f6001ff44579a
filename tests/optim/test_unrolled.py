"""The virtual step (DARTS eq. 6) is the weight optimiser's own step."""

import pytest
import torch
from torch import nn

from dnas.optim.unrolled import virtual_step
from tests.helpers import bilevel_problem as make


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


def test_per_group_rules_and_the_gradient_coefficient():
    """Two groups with their own lr / momentum / Nesterov / dampening: w' equals the real step
    for both, a parameter without a gradient stays, and ξ is ∂w'/∂g (w' is affine in g)."""
    torch.manual_seed(0)
    a, b, c = (nn.Parameter(torch.randn(3, dtype=torch.float64)) for _ in range(3))
    opt = torch.optim.SGD([
        {"params": [a], "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        {"params": [b, c], "lr": 0.3, "momentum": 0.5, "dampening": 0.2},
    ])
    for p in (a, b, c):
        p.grad = torch.randn_like(p)
    opt.step()  # momentum buffers exist now
    params = {"a": a, "b": b, "c": c}
    w = {n: p.detach().clone() for n, p in params.items()}
    g = {"a": torch.randn(3, dtype=torch.float64), "b": torch.randn(3, dtype=torch.float64),
         "c": None}
    w_prime, xi = virtual_step(w, g, opt, params)
    assert torch.equal(w_prime["c"], w["c"]) and xi["c"] == 0.0
    assert xi["a"] == pytest.approx(0.1 * (1 + 0.9))  # Nesterov: d + μ·buf', buf' ∋ d
    assert xi["b"] == pytest.approx(0.3 * (1 - 0.2))  # dampened momentum
    delta = {n: torch.randn(3, dtype=torch.float64) if g[n] is not None else None for n in g}
    shifted = {n: None if g[n] is None else g[n] + delta[n] for n in g}
    w_shifted, _ = virtual_step(w, shifted, opt, params)
    for n in ("a", "b"):
        torch.testing.assert_close(w_shifted[n] - w_prime[n], -xi[n] * delta[n])
    a.grad, b.grad, c.grad = g["a"].clone(), g["b"].clone(), None
    opt.step()
    for n, p in params.items():
        torch.testing.assert_close(w_prime[n], p.detach(), rtol=0, atol=1e-15)


def test_only_sgd_without_maximize_is_modelled():
    p = nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="w_optimizer is a Adam"):
        virtual_step({"p": p.detach()}, {"p": torch.ones(2)}, torch.optim.Adam([p]), {"p": p})
    with pytest.raises(ValueError, match="maximize=True"):
        virtual_step({"p": p.detach()}, {"p": torch.ones(2)},
                     torch.optim.SGD([p], lr=0.1, maximize=True), {"p": p})
