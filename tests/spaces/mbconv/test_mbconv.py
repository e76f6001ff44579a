"""The MBConv space: 1-D and 2-D networks, labels, the fixed network of an architecture (exact
parameter count, initial weights from the architecture and the seed), random and largest
architectures, the recorded space, and a budgeted search."""

import pytest
import torch

import dnas
from dnas.cost import CostModel, sample_in_band
from dnas.spaces import mbconv

SMALL = {"stem": 4, "stages": [{"widths": (4, 8), "depths": (1, 2), "stride": 2},
                               {"widths": (8, 12), "depths": (1, 2), "stride": 2}],
         "kernel_sizes": (3, 5), "expansions": (2, 3)}


@pytest.mark.parametrize("dim,shape", [(1, (3, 2, 20)), (2, (3, 1, 8, 8))])
def test_search_network_runs_and_fixes_to_every_architecture(dim, shape):
    torch.manual_seed(0)
    net = mbconv.search_network(5, shape[1], dim, **SMALL)
    dnas.relax(net, "gdas")
    dnas.resample(net, torch.Generator().manual_seed(0))
    x = torch.randn(*shape)
    assert net(x).shape == (3, 5)
    labels = set(dnas.space.arch_groups(net))
    assert {"stage1/width", "stage2/depth", "stage1/block1/kernel", "stage2/block2/expansion",
            "stage2/block2/op"} <= labels
    assert "stage1/block1/op" not in labels  # a stage's first block changes the shape
    cm = CostModel(net, "params")
    for seed in range(6):
        arch = mbconv.random_architecture(net, seed)
        model = mbconv.eval_network(arch, num_classes=5, in_channels=shape[1], dim=dim, **SMALL)
        assert sum(p.numel() for p in model.parameters()) == cm.cost(arch)
        assert model(x).shape == (3, 5)
        assert not any(isinstance(m, (dnas.ValueChoice, dnas.LayerChoice, dnas.Repeat))
                       for m in model.modules())


def test_largest_architecture_is_the_supernet_and_the_space_is_recorded():
    net = mbconv.search_network(10, 1, 1)
    big = mbconv.largest_architecture(net)
    assert big["stage3/width"] == (128,) and big["stage1/depth"] == (3,)
    assert CostModel(net, "params").cost(big) == sum(
        p.numel() for p in dnas.weight_parameters(net))
    spec = mbconv.space_of(dnas.Architecture.from_json(big.to_json()))
    assert spec == net.spec
    small = mbconv.search_network(10, 1, 1, **SMALL)
    arch = mbconv.random_architecture(small, 3)
    assert mbconv.space_of(arch).stem == 4
    model = mbconv.eval_network(dnas.Architecture.from_json(arch.to_json()))  # space from meta
    assert model(torch.randn(2, 1, 16)).shape == (2, 10)


def test_initial_weights_depend_only_on_architecture_and_seed():
    net = mbconv.search_network(10, 1, 1, **SMALL)
    arch = mbconv.random_architecture(net, 0)
    a = mbconv.eval_network(arch, seed=3)
    b = mbconv.eval_network(arch, seed=3)
    c = mbconv.eval_network(arch, seed=4)
    torch.manual_seed(123)  # the global RNG does not matter
    d = mbconv.eval_network(arch, seed=3)
    for (n, p), q, s in zip(a.named_parameters(), b.parameters(), d.parameters()):
        assert torch.equal(p, q) and torch.equal(p, s), n
    assert any(not torch.equal(p, r) for p, r in zip(a.parameters(), c.parameters()))


def test_bad_space_options():
    with pytest.raises(ValueError, match="odd"):
        mbconv.search_network(kernel_sizes=(3, 4))
    with pytest.raises(ValueError, match="stages is empty"):
        mbconv.search_network(stages=[])
    with pytest.raises(ValueError, match="depths"):
        mbconv.search_network(stages=[{"widths": (4,), "depths": (0, 1)}])
    with pytest.raises(ValueError, match="dim=3"):
        mbconv.search_network(dim=3)
    with pytest.raises(ValueError, match="unknown mbconv space option"):
        mbconv.eval_network(dnas.Architecture({"a": 1}), colour=2)


def test_budgeted_search_lands_in_the_band_and_random_band_samples_do():
    torch.manual_seed(0)
    net = mbconv.search_network(3, 1, 1, **SMALL)
    cm = CostModel(net, "params")
    largest = cm.cost(mbconv.largest_architecture(net))
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 1, 16, generator=g)
    y = (X.mean((1, 2)) > 0).long() + (X[:, 0, 0] > 1).long()
    budget = 0.5 * largest
    result = dnas.search(net, (X[:32], y[:32]), (X[32:], y[32:]), epochs=2, batch_size=16,
                         cost="params", budget=budget, device="cpu")
    meta = result.architecture.meta["cost"]
    assert abs(meta["value"] / budget - 1) <= 0.1 and meta["within_budget"]
    fixed = mbconv.eval_network(result.architecture, num_classes=3, in_channels=1, dim=1,
                                **SMALL)
    assert sum(p.numel() for p in fixed.parameters()) == meta["value"]
    for i in range(3):
        arch = sample_in_band(cm, 0.9 * budget, 1.1 * budget, torch.Generator().manual_seed(i))
        assert 0.9 * budget <= cm.cost(arch) <= 1.1 * budget
    with pytest.raises(ValueError, match="no architecture found"):
        sample_in_band(cm, 2 * largest, 3 * largest, g)
    # the band at the top holds few architectures, behind local optima of the walk (a wide
    # stage one block deep): restarts find them from every seed
    for i in range(10):
        arch = sample_in_band(cm, 0.9 * largest, 1.1 * largest, torch.Generator().manual_seed(i))
        assert 0.9 * largest <= cm.cost(arch) <= 1.1 * largest


@pytest.mark.parametrize("method", dnas.methods())
def test_every_method_searches_the_space(method):
    # pc-darts splits a LayerChoice's input channels: the space without skip choices fits it
    space = dict(SMALL, skip=method != "pc-darts")
    torch.manual_seed(0)
    net = mbconv.search_network(3, 1, 1, **space)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(32, 1, 16, generator=g)
    y = torch.randint(0, 3, (32,), generator=g)
    s = dnas.Searcher(net, (X[:16], y[:16]), (X[16:], y[16:]), method=method, batch_size=8,
                      device="cpu", cost="params", budget=2000.0)
    before = {k: a.detach().clone() for k, a in zip(s.labels, s.alphas)}
    train, valid = (X[:8], y[:8]), (X[16:24], y[16:24])
    s.arch_step(train, valid)
    s.weight_step(train)
    moved = [k for k, a in zip(s.labels, s.alphas) if not torch.equal(a.detach(), before[k])]
    assert any(k.endswith("/width") for k in moved), method
    assert any(k.endswith("/depth") for k in moved), method
    # every weight and α is still the module's own Parameter after the functional passes
    assert all(type(p) is torch.nn.Parameter
               for _, p in net.named_parameters(remove_duplicate=False)), method
