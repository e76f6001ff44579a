"""The one walk over an expression graph: order, resolution of choices, and that every reading
(torch, SymPy, NumPy, text, DOT) sees the same graph through it."""

import numpy as np
import pytest
import sympy
import torch

import dnas
from dnas.estimators.equation import node_lines, to_dot
from dnas.spaces.expression import ExpressionNetwork
from dnas.spaces.expression.graph import Reading, fold, walk
from dnas.spaces.expression.numeric import NumericEquation

CHOICES = {"k1_a_x1": "exp", "k1_a_x2": "none", "k1_b_x1": "none", "k1_b_x2": "mult",
           "k1_op": "mul", "k2_a_x1": "none", "k2_a_x2": "none", "k2_a_k1": "ln",
           "k2_b_x1": "add", "k2_b_x2": "none", "k2_b_k1": "none", "k2_op": "add"}


def _network():
    net = ExpressionNetwork(2, n_nodes=2, primitives=["none", "add", "mult", "exp", "ln"]).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in dnas.weight_parameters(net):
            p.copy_(0.3 + 0.5 * torch.rand(p.shape, generator=g, dtype=p.dtype))
    return net


def test_walk_resolves_choices_and_drops_none_edges():
    net = _network()
    nodes = walk(net, dnas.Architecture(CHOICES))
    assert [n.name for n in nodes] == ["k1", "k2"]
    assert [[e.label for e in operand] for operand in nodes[0].operands] == [["k1_a_x1"],
                                                                              ["k1_b_x2"]]
    assert [[e.source for e in operand] for operand in nodes[1].operands] == [["k1"], ["x1"]]
    assert [n.op for n in nodes] == ["mul", "add"]
    relaxed = walk(net, relaxed=True)
    assert sum(len(o) for n in relaxed for o in n.operands) == 4 + 6  # every edge, choices kept
    with pytest.raises(ValueError, match="fix it first"):
        walk(net)


def test_fold_order_and_states():
    net = _network()
    seen = []

    class Names(Reading[str]):
        def edge(self, edge, x):
            seen.append(edge.label)
            return f"{edge.module.name}({x})"

        def zero(self):
            return "0"

        def total(self, terms):
            return " + ".join(terms) if terms else "0"

        def combine(self, node, operands):
            return f"[{operands[0]} {node.op} {operands[1]}]"

    out = fold(walk(net, dnas.Architecture(CHOICES)), {"x1": "x1", "x2": "x2"}, Names())
    assert out == ["[exp(x1) mul mult(x2)]", "[ln([exp(x1) mul mult(x2)]) add add(x1)]"]
    assert seen == ["k1_a_x1", "k1_b_x2", "k2_a_k1", "k2_b_x1"]


def test_every_reading_agrees():
    net = _network()
    fixed = dnas.fix(net, dnas.Architecture(CHOICES))
    X = np.random.default_rng(0).uniform(0.5, 2.0, (11, 2))
    torch_values = fixed(torch.tensor(X)).detach().numpy()
    x1, x2 = sympy.symbols("x1 x2", real=True)
    f = sympy.lambdify((x1, x2), fixed.sympy([x1, x2]), "numpy")
    np.testing.assert_allclose(f(X[:, 0], X[:, 1]), torch_values, rtol=1e-12)
    eq = NumericEquation(fixed)
    np.testing.assert_allclose(eq(X, eq.theta0)[0], torch_values, rtol=1e-12)
    # the text lines, substituted node by node, are the same function (to their 6 decimals)
    lines = node_lines(fixed, ["x1", "x2"], "y", "real", decimals=12)
    env = {}
    for line in lines:
        lhs, rhs = (s.strip() for s in line.split("="))
        env[sympy.Symbol(lhs)] = sympy.sympify(rhs, locals={"x1": x1, "x2": x2}).xreplace(env)
    g = sympy.lambdify((x1, x2), env[sympy.Symbol("y")], "numpy")
    np.testing.assert_allclose(g(X[:, 0], X[:, 1]), torch_values, rtol=1e-9)
    dot = to_dot(fixed, ["x1", "x2"], "y")
    assert dot.count(' -> "k') == 4  # the four edges other than none
    assert '"k1" -> "k2"' in dot and '"x2" -> "k1"' in dot
