"""The expression space: structure, symbolic form of fixed networks, every relaxation drives it."""

import numpy as np
import pytest
import sympy
import torch

import dnas
from dnas.spaces.expression import ExpressionNetwork


def test_labels_and_shapes():
    net = ExpressionNetwork(2, n_nodes=2, primitives=["none", "add", "mult"]).double()
    labels = sorted(dnas.space.arch_groups(net))
    # node 1: two operands x two inputs; node 2: two operands x (two inputs + k1); two op choices
    assert len(labels) == 4 + 6 + 2
    assert "k2_b_k1" in labels and "k1_op" in labels
    out = net(torch.rand(7, 2, dtype=torch.float64))
    assert out.shape == (7,)


def test_autora_graph_has_one_operand_and_no_op_choice():
    net = ExpressionNetwork(3, n_nodes=1, primitives=["none", "add"], node_ops=("add",))
    assert sorted(dnas.space.arch_groups(net)) == ["k1_a_x1", "k1_a_x2", "k1_a_x3"]


@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_fixed_network_sympy_equals_forward(op):
    prims = ["none", "mult", "exp", "ln", "power"]
    net = ExpressionNetwork(2, n_nodes=2, primitives=prims).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in dnas.weight_parameters(net):
            p.copy_(0.3 + 0.5 * torch.rand(p.shape, generator=g, dtype=p.dtype))
    choices = {label: "mult" for label in dnas.space.arch_groups(net)}
    choices.update({"k1_a_x2": "exp", "k1_b_x1": "ln", "k2_a_k1": "power", "k2_b_x2": "none",
                    "k1_op": op, "k2_op": "add"})
    fixed = dnas.fix(net, dnas.Architecture(choices))
    x1, x2 = sympy.symbols("x1 x2", positive=True)
    f = sympy.lambdify((x1, x2), fixed.sympy([x1, x2]), "numpy")
    X = np.random.default_rng(0).uniform(1.5, 3.0, (20, 2))  # keeps k1 > 0 for power
    np.testing.assert_allclose(f(X[:, 0], X[:, 1]), fixed(torch.tensor(X)).detach().numpy(),
                               rtol=1e-9)
    # reading the choices from the relaxed network gives the same expression, without copying
    relaxed = net.sympy([x1, x2], architecture=dnas.Architecture(choices))
    assert sympy.simplify(relaxed - fixed.sympy([x1, x2])) == 0


def test_derive_can_choose_none():
    net = ExpressionNetwork(1, primitives=["none", "add"], node_ops=("add",))
    with torch.no_grad():
        net.edges["k1_a_x1"].arch.alpha.copy_(torch.tensor([2.0, 0.0]))
    assert net.derive_architecture()["k1_a_x1"] == ("none",)


def test_sympy_of_relaxed_network_needs_an_architecture():
    net = ExpressionNetwork(1)
    with pytest.raises(ValueError, match="fix it first"):
        net.sympy([sympy.Symbol("x")])


# PC-DARTS splits each edge's channels into K groups; an expression edge carries one value per
# row, so partial channels do not apply (the relaxation refuses such inputs with a clear error).
@pytest.mark.parametrize("method", [m for m in dnas.methods() if m != "pc-darts"])
def test_every_relaxation_drives_the_space(method):
    torch.manual_seed(0)
    net = ExpressionNetwork(2, primitives=["none", "add", "mult", "exp"]).double()
    X = torch.rand(32, 2, dtype=torch.float64)
    y = 2 * X[:, 0] + X[:, 1]
    result = dnas.search(net, (X, y), (X, y), method=method, epochs=1, steps_per_epoch=3,
                         batch_size=32, device="cpu", progress=False)
    assert set(result.architecture) == set(dnas.space.arch_groups(net))
    assert all(np.isfinite(h["train_loss"]) for h in result.history)
    fixed = dnas.fix(net, net.derive_architecture())
    assert torch.isfinite(fixed(X)).all()


def test_bad_construction():
    with pytest.raises(ValueError, match="n_inputs"):
        ExpressionNetwork(0)
    with pytest.raises(ValueError, match="node_ops"):
        ExpressionNetwork(1, node_ops=("add", "pow"))
    with pytest.raises(ValueError, match="unknown primitive"):
        ExpressionNetwork(1, primitives=["nope"])


@pytest.mark.parametrize("method", ["darts", "fair-darts", "drnas"])
def test_dense_node_pass_equals_edge_by_edge(method, monkeypatch):
    """The one-pass evaluation of a node gives the values and gradients of calling each edge."""
    import dnas.spaces.expression.network as network_module

    prims = ["none", "add", "subtract", "mult", "linear", "exp", "ln", "power", "logistic"]
    torch.manual_seed(0)
    net = ExpressionNetwork(2, n_nodes=2, primitives=prims).double()
    dnas.relax(net, method)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in dnas.weight_parameters(net):
            p.copy_(0.2 + 0.6 * torch.rand(p.shape, generator=g, dtype=p.dtype))
        for a in dnas.arch_parameters(net):
            a.copy_(torch.randn(a.shape, generator=g, dtype=a.dtype))
    X = torch.rand(9, 2, dtype=torch.float64, generator=g) + 0.5
    params = [p for p in net.parameters() if p.requires_grad]

    def run():
        dnas.space.resample(net, torch.Generator().manual_seed(5))  # same DrNAS sample twice
        out = net(X)
        return out.detach(), torch.autograd.grad(out.pow(2).sum(), params, allow_unused=True)

    assert all(network_module._dense(e) for e in net.edges.values())
    fused = run()
    monkeypatch.setattr(network_module, "_dense", lambda edge: False)
    reference = run()
    torch.testing.assert_close(fused[0], reference[0], rtol=1e-12, atol=1e-12)
    for a, b in zip(fused[1], reference[1]):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_sampling_relaxations_keep_the_edge_by_edge_pass():
    import dnas.spaces.expression.network as network_module

    net = ExpressionNetwork(1, primitives=["none", "add", "mult"])
    dnas.relax(net, "gdas")
    assert not any(network_module._dense(e) for e in net.edges.values())


def test_a_relaxed_three_node_mixture_stays_finite_and_a_chosen_equation_is_not_bounded():
    """Every candidate at once (cubes, exps, products of the nodes before) overflowed float64 at
    three nodes on the first batch; relaxed nodes grow only logarithmically beyond a bound, chosen
    ones are not bounded."""
    from dnas.spaces.expression.network import RELAXED_BOUND
    from dnas.spaces.expression.primitives import DEFAULT_PRIMITIVES

    torch.manual_seed(0)
    net = ExpressionNetwork(3, n_nodes=3, primitives=DEFAULT_PRIMITIVES).double()
    dnas.relax(net, "darts")
    X = torch.rand(64, 3, dtype=torch.float64) * 4 + 1
    loss = net(X).pow(2).mean()  # unbounded: values near 1e188 here, the loss inf
    assert torch.isfinite(loss)
    grads = torch.autograd.grad(loss, list(dnas.arch_parameters(net)))
    assert all(torch.isfinite(g).all() for g in grads)
    with torch.no_grad():
        assert max(float(k.abs().max()) for k in net.nodes(X)) < 1e48  # B·(1 + ln(1e308/B))
    # a chosen equation whose node exceeds the bound: its value is its SymPy form's
    one = ExpressionNetwork(1, n_nodes=1, primitives=["none", "cube"]).double()
    fixed = dnas.fix(one, dnas.Architecture({label: "cube" if label.endswith("x1") else "mul"
                                             for label in dnas.space.arch_groups(one)}))
    x1 = sympy.Symbol("x1")
    expected = float(fixed.sympy([x1]).subs(x1, 1e17))  # c·1e51
    assert abs(expected) > 100 * RELAXED_BOUND
    assert float(fixed(torch.tensor([[1e17]], dtype=torch.float64))) == pytest.approx(expected)
