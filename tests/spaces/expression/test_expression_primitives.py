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


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_numpy_terms_match_torch_value_and_autograd(name):
    """``terms`` (used as the exact Jacobian of the constant fits) equals the torch forward and
    torch's autograd of it, inside and outside the guarded domains."""
    op = make_primitive(name).double()
    _randomise(op, 2)
    xs = np.array([-30.0, -2.0, -0.3, -1e-8, 0.0, 1e-8, 0.2, 1.0, 2.5, 30.0])
    x = torch.tensor(xs, requires_grad=True)
    coefs = op.coefficient_values()
    value, dx, partials = type(op).terms(xs, **coefs)
    out = op(x)
    np.testing.assert_allclose(np.broadcast_to(value, xs.shape), out.detach().numpy(),
                               rtol=1e-12, atol=1e-300)
    assert set(partials) == {n for n, _ in op.coefficients}
    if not out.requires_grad:
        assert name == "none"
        return
    for i in range(len(xs)):
        grads = torch.autograd.grad(out[i], [x, *op.parameters()], retain_graph=True,
                                    allow_unused=True)
        expected_dx = 0.0 if grads[0] is None else float(grads[0][i])
        np.testing.assert_allclose(np.broadcast_to(dx, xs.shape)[i], expected_dx, rtol=1e-10,
                                   atol=1e-12, err_msg=f"{name} d/dx at x={xs[i]}")
        for (cname, _), g in zip(op.coefficients, grads[1:]):
            expected = 0.0 if g is None else float(g)
            np.testing.assert_allclose(np.broadcast_to(partials[cname], xs.shape)[i], expected,
                                       rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} d/d{cname} at x={xs[i]}")


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_evaluate_broadcasts_stacked_coefficients(name):
    """One ``evaluate`` call on stacked coefficients equals each module's own forward."""
    ops = [make_primitive(name).double() for _ in range(3)]
    for i, op in enumerate(ops):
        _randomise(op, 10 + i)
    x = torch.linspace(0.1, 3.0, 12, dtype=torch.float64).reshape(4, 3)
    coefs = {n: torch.stack([getattr(op, n) for op in ops]) for n, _ in ops[0].coefficients}
    together = type(ops[0]).evaluate(x, **coefs)
    for i, op in enumerate(ops):
        torch.testing.assert_close(together[:, i], op(x[:, i]), rtol=0, atol=0)
