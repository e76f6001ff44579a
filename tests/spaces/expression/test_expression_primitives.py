"""Every primitive: finite on any finite input, and its SymPy form equals its forward pass."""

import numpy as np
import pytest
import sympy
import torch

from dnas.spaces.expression import (
    AUTORA_PRIMITIVES,
    DEFAULT_PRIMITIVES,
    PRIMITIVE_NAMES,
    check_primitives,
    make_primitive,
)

AUTORA_NAMES = [
    "none", "add", "subtract", "mult", "linear", "relu", "logistic", "exp", "cos", "sin", "tanh",
    "reciprocal", "ln", "softplus", "softminus", "linear_relu", "linear_logistic", "linear_exp",
    "linear_cos", "linear_sin", "linear_tanh", "linear_reciprocal", "linear_ln",
    "linear_softplus", "linear_softminus",
]


def test_autora_names_are_all_there():
    assert set(AUTORA_NAMES) <= set(PRIMITIVE_NAMES)
    assert set(AUTORA_PRIMITIVES) <= set(PRIMITIVE_NAMES)
    assert set(DEFAULT_PRIMITIVES) <= set(PRIMITIVE_NAMES)


def _randomise(op, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in op.parameters():
            p.copy_(0.5 + torch.rand((), generator=g, dtype=p.dtype))


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_forward_is_finite_everywhere(name):
    op = make_primitive(name).double()
    _randomise(op, 0)
    x = torch.tensor([-1e6, -50.0, -1.0, -1e-9, 0.0, 1e-9, 0.5, 3.0, 50.0, 1e6],
                     dtype=torch.float64)
    out = op(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all(), (name, out)


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_sympy_form_matches_forward(name):
    op = make_primitive(name).double()
    _randomise(op, 1)
    x = sympy.Symbol("x", real=True)
    f = sympy.lambdify(x, op.sympy(x), "numpy")
    xs = np.linspace(0.1, 3.0, 25)  # inside every primitive's domain
    expected = op(torch.tensor(xs)).detach().numpy()
    got = np.broadcast_to(np.asarray(f(xs), dtype=float), xs.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_gradients_are_finite_at_domain_edges(name):
    op = make_primitive(name).double()
    x = torch.tensor([-2.0, 0.0, 1e-12, 2.0], dtype=torch.float64, requires_grad=True)
    out = op(x)
    if not out.requires_grad:  # "none" is constant
        assert name == "none"
        return
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    for p in op.parameters():
        assert torch.isfinite(p.grad).all()


def test_unknown_primitive_lists_valid_names():
    with pytest.raises(ValueError,
                       match=r"unknown primitive\(s\) \['sqrt'\].*valid names: none, add"):
        check_primitives(["add", "sqrt"])
    with pytest.raises(ValueError, match="must be a list"):
        check_primitives("add")
    with pytest.raises(ValueError, match="empty"):
        check_primitives([])
    with pytest.raises(ValueError, match="twice"):
        check_primitives(["add", "add"])
