"""NumericEquation: the NumPy twin of a discrete expression network, with its exact Jacobian."""

import numpy as np
import pytest
import sympy
import torch

import dnas
from dnas.spaces.expression import ExpressionNetwork
from dnas.spaces.expression.numeric import NumericEquation

PRIMS = ["none", "add", "subtract", "mult", "linear", "exp", "ln", "power", "reciprocal",
         "logistic", "linear_softminus", "tanh"]


def _network(seed, train_coefficients=False):
    net = ExpressionNetwork(2, n_nodes=2, primitives=PRIMS,
                            train_coefficients=train_coefficients).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in dnas.weight_parameters(net):
            p.copy_(0.3 + 0.5 * torch.rand(p.shape, generator=g, dtype=p.dtype))
    return net


def _random_architecture(net, rng):
    choices = {}
    for label, group in dnas.space.arch_groups(net).items():
        names = group.names if label.endswith("_op") else [n for n in group.names if n != "none"]
        choices[label] = names[rng.integers(len(names))]
    return dnas.Architecture(choices)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("use_bias", [True, False])
def test_values_and_jacobian_match_torch(seed, use_bias):
    net = _network(seed, train_coefficients=seed % 2 == 1)
    arch = _random_architecture(net, np.random.default_rng(seed))
    fixed = dnas.fix(net, arch)
    if not use_bias:
        with torch.no_grad():
            fixed.out_bias.zero_()
        fixed.out_bias.requires_grad_(False)
    eq = NumericEquation(fixed, use_bias=use_bias)
    assert not eq.degenerate
    X = np.random.default_rng(100 + seed).uniform(0.5, 2.0, (15, 2))
    value, jac = eq(X, eq.theta0)
    out = fixed(torch.tensor(X))
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-11, atol=1e-11)
    params = [p for p, _ in eq.slots]
    assert len(params) == sum(p.numel() for p in fixed.parameters() if p.requires_grad)
    for row in range(len(X)):
        grads = torch.autograd.grad(out[row], params, retain_graph=True, allow_unused=True)
        expected = [0.0 if g is None else float(g if i is None else g[i])
                    for g, (_, i) in zip(grads, eq.slots)]
        np.testing.assert_allclose(jac[row], expected, rtol=1e-9, atol=1e-10)
    # the relaxed network read through the architecture gives the same function
    relaxed = NumericEquation(net, arch, use_bias=use_bias)
    np.testing.assert_allclose(relaxed(X, relaxed.theta0)[0], value, rtol=1e-12)


def test_slots_follow_the_sympy_symbols():
    net = _network(0)
    arch = _random_architecture(net, np.random.default_rng(3))
    params = {}
    net.sympy(sympy.symbols("x1 x2"), params, arch)
    eq = NumericEquation(net, arch)
    assert [(id(p), i) for p, i in params.values()] == [(id(p), i) for p, i in eq.slots]


def test_other_theta_changes_the_function():
    net = _network(1)
    arch = _random_architecture(net, np.random.default_rng(1))
    eq = NumericEquation(net, arch)
    X = np.random.default_rng(0).uniform(0.5, 2.0, (10, 2))
    theta = eq.theta0 * 1.1
    _, jac = eq(X, theta)
    # first-order check of the Jacobian along a random direction, by central differences
    d = np.random.default_rng(1).normal(size=len(theta))
    h = 1e-6
    numeric = (eq(X, theta + h * d)[0] - eq(X, theta - h * d)[0]) / (2 * h)
    np.testing.assert_allclose(jac @ d, numeric, rtol=1e-6, atol=1e-7)


def test_degenerate_equations_are_flagged():
    net = ExpressionNetwork(1, n_nodes=2, primitives=["none", "add", "exp"]).double()
    base = {"k1_a_x1": "add", "k1_b_x1": "add", "k1_op": "add",
            "k2_a_x1": "add", "k2_b_x1": "add", "k2_a_k1": "none", "k2_b_k1": "none",
            "k2_op": "add"}
    assert not NumericEquation(net, dnas.Architecture(base)).degenerate
    # dividing by an operand with no edge
    assert NumericEquation(net, dnas.Architecture({**base, "k1_b_x1": "none",
                                                   "k1_op": "div"})).degenerate
    # exp of a node that is identically 0 (a constant: the bias says it with fewer terms)
    zero_k1 = {**base, "k1_a_x1": "none", "k1_b_x1": "none", "k2_a_k1": "exp"}
    assert NumericEquation(net, dnas.Architecture(zero_k1)).degenerate
    # a product with a zero operand is zero, and so is what reads it
    zero_mul = {**base, "k1_b_x1": "none", "k1_op": "mul", "k2_b_k1": "add"}
    assert NumericEquation(net, dnas.Architecture(zero_mul)).degenerate


def test_relaxed_network_needs_an_architecture():
    with pytest.raises(ValueError, match="fix it first"):
        NumericEquation(ExpressionNetwork(1))
