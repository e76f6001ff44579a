"""The DARTS search network: parity with the paper's network, labels, options, errors."""

import pytest
import torch
from torch import nn

import dnas
from dnas.space import bind, choices
from dnas.spaces.darts import PRIMITIVES, search_network

# Counted on the DARTS CIFAR-10 search network (C=16, 8 cells, 10 classes, RGB input).
DARTS_SEARCH_WEIGHTS = 1_930_618
DARTS_SEARCH_ALPHAS = 2 * 14 * 8


def _count(params):
    return sum(p.numel() for p in params)


@pytest.fixture(scope="module")
def paper_net():
    return search_network(C=16, layers=8, num_classes=10, in_channels=3)


def test_parameter_counts_match_the_paper_network(paper_net):
    assert _count(dnas.weight_parameters(paper_net)) == DARTS_SEARCH_WEIGHTS
    assert _count(dnas.arch_parameters(paper_net)) == DARTS_SEARCH_ALPHAS
    # α is listed once by parameters(): the cells share it from construction on
    assert _count(paper_net.parameters()) == DARTS_SEARCH_WEIGHTS + DARTS_SEARCH_ALPHAS


def test_labels_are_shared_by_every_cell_of_a_type(paper_net):
    groups = bind(paper_net)
    expected = {f"{cell}/edge_{k}_{j}" for cell in ("normal", "reduce")
                for k in range(2, 6) for j in range(k)}
    assert set(groups) == expected
    uses = {}
    for _, c in choices(paper_net):
        assert c.arch is groups[c.label]
        assert c.names == PRIMITIVES
        uses[c.label] = uses.get(c.label, 0) + 1
    assert {uses[label] for label in expected if label.startswith("normal")} == {6}
    assert {uses[label] for label in expected if label.startswith("reduce")} == {2}


def test_structure_follows_the_paper(paper_net):
    kinds = [cell.cell_type for cell in paper_net.cells]
    assert kinds == ["normal"] * 2 + ["reduce"] + ["normal"] * 2 + ["reduce"] + ["normal"] * 2
    assert paper_net.stem[1].affine  # the stem's BN is affine, the cells' are not
    for cell in paper_net.cells:
        bns = [m for m in cell.modules() if isinstance(m, nn.BatchNorm2d)]
        assert bns and not any(m.affine for m in bns)
        edge = cell.edges["edge_2_0"]
        for name in ("max_pool_3x3", "avg_pool_3x3"):
            pooled = edge.candidates[name]
            assert isinstance(pooled, nn.Sequential) and isinstance(pooled[1], nn.BatchNorm2d)
    # reduction cells stride the edges from the cell inputs only
    reduce = paper_net.cells[2]
    assert reduce.edges["edge_2_0"].candidates["max_pool_3x3"][0].stride == 2
    assert reduce.edges["edge_3_2"].candidates["max_pool_3x3"][0].stride == 1
    assert paper_net.classifier.in_features == 4 * 64


@pytest.mark.parametrize("dim,shape", [(1, (2, 1, 16)), (2, (2, 3, 8, 8))])
def test_forward_and_every_alpha_gets_a_gradient(dim, shape):
    torch.manual_seed(0)
    net = search_network(C=4, layers=3, num_classes=5, dim=dim)
    out = net(torch.randn(*shape))
    assert out.shape == (2, 5)
    out.logsumexp(1).sum().backward()
    for label, group in bind(net).items():
        assert group.alpha.grad is not None and group.alpha.grad.abs().sum() > 0, label
    assert not any(isinstance(m, (nn.Conv2d if dim == 1 else nn.Conv1d)) for m in net.modules())


def _edge_params(C_cell, stride2, K):
    """Parameters of one searchable edge with c = C_cell // K channels (non-affine BN)."""
    c = C_cell // K
    sep = lambda k: 2 * (k * k * c + c * c)  # noqa: E731
    dil = lambda k: k * k * c + c * c  # noqa: E731
    return sep(3) + sep(5) + dil(3) + dil(5) + (c * c if stride2 else 0)


def _edges_actual_and_expected(net, K):
    # counted in the state dict, which keeps one entry per edge's weight also where the packed
    # cell stores the weights stacked (dnas.spaces.darts.banks)
    state = net.state_dict()
    expected, actual = 0, 0
    C_cell = 16
    for i, cell in enumerate(net.cells):
        C_cell = C_cell * 2 if cell.reduction else C_cell
        for key, edge in cell.edges.items():
            j = int(key.rsplit("_", 1)[1])
            expected += _edge_params(C_cell, cell.reduction and j < 2, K)
            prefix = f"cells.{i}.edges.{key}."
            actual += sum(v.numel() for k, v in state.items()
                          if k.startswith(prefix) and k.endswith(".weight"))
            assert edge.partial_channels == K
    return actual, expected


def test_partial_channels_builds_candidates_on_a_share_of_channels(paper_net):
    base_edges, base_expected = _edges_actual_and_expected(paper_net, 1)
    assert base_edges == base_expected
    net = search_network(C=16, layers=8, partial_channels=4)
    edges, expected = _edges_actual_and_expected(net, 4)
    assert edges == expected
    # everything outside the edges (stem, preprocessing, classifier) is unchanged
    assert _count(dnas.weight_parameters(net)) - edges == DARTS_SEARCH_WEIGHTS - base_edges
    assert _count(dnas.arch_parameters(net)) == DARTS_SEARCH_ALPHAS


def test_partial_channels_must_agree_with_the_relaxation():
    net = search_network(C=8, layers=3, dim=1, partial_channels=2)
    with pytest.raises(ValueError, match=r"partial_channels=2 .*method='darts'.*pc-darts"):
        net(torch.randn(2, 1, 16))
    plain = search_network(C=8, layers=3, dim=1)
    dnas.relax(plain, "pc-darts", partial_channels=4)
    with pytest.raises(ValueError, match=r"partial_channels=1 .*method='pc-darts'"):
        plain(torch.randn(2, 1, 16))


def test_edge_normalization_adds_one_input_choice_per_node():
    net = search_network(C=16, layers=8, edge_normalization=True)
    groups = bind(net)
    nodes = [label for label in groups if "/node_" in label]
    expected = [f"{c}/node_{k}" for c in ("normal", "reduce") for k in range(2, 6)]
    assert sorted(nodes) == sorted(expected)
    assert all(groups[n].kind == "input" and groups[n].n_chosen == 2 for n in nodes)
    assert len(groups) == 28 + 8
    assert _count(dnas.weight_parameters(net)) == DARTS_SEARCH_WEIGHTS
    assert _count(dnas.arch_parameters(net)) == DARTS_SEARCH_ALPHAS + 2 * (2 + 3 + 4 + 5)


def test_edge_normalization_weights_the_edges_by_beta():
    torch.manual_seed(0)
    net = search_network(C=4, layers=1, dim=1, edge_normalization=True).eval()
    x = torch.randn(2, 1, 8)
    cell = net.cells[0]
    states = [cell.preprocess0(net.stem(x)), cell.preprocess1(net.stem(x))]
    beta = bind(net)["reduce/node_2"]
    with torch.no_grad():
        beta.alpha.copy_(torch.tensor([2.0, -1.0]))
        w = torch.softmax(beta.alpha, 0)
        expected = sum(w[j] * cell.edges[f"edge_2_{j}"](states[j]) for j in range(2))
        got = cell.nodes["node_2"]([cell.edges[f"edge_2_{j}"](states[j]) for j in range(2)])
    assert torch.allclose(got, expected)


def test_custom_primitives():
    prims = ("none", "skip_connect", "sep_conv_3x3")
    net = search_network(C=4, layers=3, dim=1, primitives=prims)
    assert _count(dnas.arch_parameters(net)) == 2 * 14 * 3
    assert all(c.names == prims for _, c in choices(net))


def test_reductions_halve_the_resolution():
    net = search_network(C=4, layers=5, dim=2).eval()
    sizes = []
    s0 = s1 = net.stem(torch.randn(1, 3, 8, 8))
    for cell in net.cells:
        s0, s1 = s1, cell(s0, s1)
        sizes.append(s1.shape[-1])
    assert sizes == [8, 4, 4, 2, 2]  # reductions at 5 // 3 = 1 and 2 * 5 // 3 = 3


def test_wrong_input_shape_is_a_clear_error():
    net = search_network(C=4, layers=2, dim=1)
    with pytest.raises(ValueError, match=r"dim=1 network.*\(B, C, L\)"):
        net(torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match="C=1"):
        net(torch.randn(2, 3, 8))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(C=0), "C=0"),
        (dict(layers=1.5), "layers=1.5"),
        (dict(dim=3), "dim=3"),
        (dict(in_channels=0), "in_channels=0"),
        (dict(steps=2, multiplier=3), "multiplier=3"),
        (dict(primitives=("none", "conv_9x9")), "conv_9x9"),
        (dict(primitives=("none",)), "other than 'none'"),
        (dict(primitives="sep_conv_3x3"), "primitives="),
        (dict(primitives=("skip_connect", "skip_connect")), "repeat"),
        (dict(partial_channels=3), "partial_channels=3"),
        (dict(partial_channels=8), "at least 2 channels"),
        (dict(edge_normalization=1), "edge_normalization=1"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(C=8, layers=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        search_network(**args)
