"""The NAS-Bench-201 networks: shapes in 1-D and 2-D, live edges only, seeded initial weights,
the fast average pooling, and the export rule that may pick ``none``."""

import pytest
import torch
from torch import nn

import dnas
from dnas.spaces import nb201
from dnas.spaces.nb201.network import AvgPool3

CONV = ("nor_conv_3x3",) * 6


@pytest.mark.parametrize("dim,shape", [(1, (3, 1, 40)), (2, (2, 3, 8, 8))])
def test_search_and_fixed_networks_run_in_1d_and_2d(dim, shape):
    x = torch.randn(*shape)
    net = nb201.search_network(C=4, N=1, num_classes=5, dim=dim)
    assert net(x).shape == (shape[0], 5)
    assert sorted(dnas.bind(net) if hasattr(dnas, "bind") else dnas.space.bind(net)) == sorted(
        nb201.LABELS
    )
    fixed = nb201.fixed_network(CONV, C=4, N=1, num_classes=5, dim=dim, seed=0)
    assert fixed(x).shape == (shape[0], 5)
    assert not list(dnas.arch_parameters(fixed))


def test_edges_are_shared_by_every_cell():
    net = nb201.search_network(C=4, N=2, dim=1)
    alphas = list(dnas.arch_parameters(net))
    assert len(alphas) == 6 and all(a.numel() == 5 for a in alphas)


def test_fixed_network_builds_live_edges_only():
    # node 2 does not reach the output: 2<-0 and 2<-1 are dead
    ops = ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none")
    net = nb201.fixed_network(ops, C=4, N=1, dim=1, seed=0)
    cell = net.cells[0]
    assert sorted(cell.edges) == ["1<-0", "3<-0", "3<-1"]
    pruned = nb201.fixed_network(nb201.prune(ops), C=4, N=1, dim=1, seed=0)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in pruned.parameters())
    x = torch.randn(2, 1, 16)
    net.eval(), pruned.eval()
    torch.testing.assert_close(net(x), pruned(x))


def test_zero_cell_outputs_zeros():
    net = nb201.fixed_network(("none",) * 6, C=4, N=1, dim=1, seed=0)
    cell = net.cells[0]
    assert len(cell.edges) == 0
    x = torch.randn(2, 4, 8)
    assert torch.equal(cell(x), torch.zeros_like(x))


def test_initial_weights_depend_only_on_the_architecture_and_the_seed():
    a = nb201.fixed_network(CONV, C=4, N=1, dim=1, seed=3)
    torch.manual_seed(123)
    torch.randn(1000)  # the global stream does not matter
    b = nb201.fixed_network(CONV, C=4, N=1, dim=1, seed=3)
    for (k, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), k
    c = nb201.fixed_network(CONV, C=4, N=1, dim=1, seed=4)
    assert not torch.equal(a.stem[0].weight, c.stem[0].weight)
    # layers two architectures share start equal: the stem, and the conv on edge 1<-0
    other = ("nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "none", "nor_conv_1x1")
    d = nb201.fixed_network(other, C=4, N=1, dim=1, seed=3)
    assert torch.equal(a.stem[0].weight, d.stem[0].weight)
    assert torch.equal(a.cells[0].edges["1<-0"][1].weight, d.cells[0].edges["1<-0"][1].weight)


def test_seeded_reset_keeps_the_global_random_stream():
    torch.manual_seed(0)
    expected = torch.randn(3)
    torch.manual_seed(0)
    nb201.fixed_network(CONV, C=4, N=1, dim=1, seed=1)
    assert torch.equal(torch.randn(3), expected)


@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 1), (2, 3, 5, 4), (1, 2, 1, 3)])
def test_avg_pool_equals_pytorch_pooling_without_padding_counts(shape):
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    pool = (nn.AvgPool1d if len(shape) == 3 else nn.AvgPool2d)(3, 1, 1, count_include_pad=False)
    torch.testing.assert_close(AvgPool3()(x), pool(x))
    g = torch.randn(*shape, dtype=torch.float64)
    (ga,) = torch.autograd.grad(AvgPool3()(x), x, g)
    (gb,) = torch.autograd.grad(pool(x), x, g)
    torch.testing.assert_close(ga, gb)


def test_export_rule_takes_the_argmax_including_none():
    net = nb201.search_network(C=4, N=1, dim=1)
    groups = dnas.space.bind(net)
    with torch.no_grad():
        for i, label in enumerate(nb201.LABELS):
            groups[label].alpha.zero_()
            groups[label].alpha[i % 5] = 1.0
    arch = dnas.derive(net)
    assert [arch[label][0] for label in nb201.LABELS] == [nb201.OPS[i % 5] for i in range(6)]
    assert arch["1<-0"] == ("none",)
    assert arch.meta["space"] == "nb201"


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="N=0"):
        nb201.search_network(N=0)
    with pytest.raises(ValueError, match="dim"):
        nb201.fixed_network(CONV, dim=3)
    with pytest.raises(ValueError, match="unknown operation"):
        nb201.search_network(ops=("none", "conv"))


def test_fix_keeps_live_edges_only_and_searched_weights():
    net = nb201.search_network(C=4, N=1, dim=1, ops=nb201.OPS_4)
    ops = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3", "skip_connect", "none", "none")
    arch = nb201.to_architecture(ops)  # node 1 and node 2 never reach the output
    fixed = dnas.fix(net, arch)
    assert not list(dnas.arch_parameters(fixed))
    for cell in (fixed.cells[0], fixed.cells[2], fixed.cells[4]):
        assert sorted(cell.edges) == ["3<-0"]
    assert fixed.cells[0].edges["3<-0"] is not net.cells[0].edges["3<-0"]  # a copy
    x = torch.randn(2, 1, 12)
    fixed.eval()
    assert fixed(x).shape == (2, 10)
    conv = ("nor_conv_3x3",) * 6
    kept = dnas.fix(net, nb201.to_architecture(conv)).cells[0].edges["1<-0"][1].weight
    assert torch.equal(kept, net.cells[0].edges["1<-0"].candidates["nor_conv_3x3"][1].weight)


def test_fix_with_a_seed_ignores_the_unchosen_candidates():
    arch = nb201.to_architecture(("nor_conv_3x3",) * 6)
    torch.manual_seed(0)
    a = dnas.fix(nb201.search_network(C=4, N=1, dim=1, ops=nb201.OPS_4), arch, seed=7)
    torch.manual_seed(1)  # other initial weights everywhere, other candidates
    b = dnas.fix(nb201.search_network(C=4, N=1, dim=1, ops=("none", "nor_conv_3x3")), arch,
                 seed=7)
    for (k, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), k
