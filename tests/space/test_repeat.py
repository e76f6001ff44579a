"""Repeat: a searchable depth mixes the outputs after each allowed depth; fix keeps exactly the
chosen number of blocks."""

import pytest
import torch
from torch import nn

import dnas
import dnas.nn as dnn


def _blocks(i):
    return nn.Sequential(nn.Linear(4, 4), nn.Tanh())


def test_mixture_of_depths_and_one_hot_equals_the_stack():
    rep = dnas.Repeat(_blocks, depth=dnas.ValueChoice([0, 1, 3], label="d")).double()
    dnas.relax(rep)
    with torch.no_grad():
        rep.depth.arch.alpha.copy_(torch.tensor([0.2, -0.4, 0.9]))
    x = torch.randn(5, 4, dtype=torch.float64)
    h1 = rep.blocks[0](x)
    h3 = rep.blocks[2](rep.blocks[1](h1))
    p = torch.softmax(rep.depth.arch.alpha, 0)
    torch.testing.assert_close(rep(x), p[0] * x + p[1] * h1 + p[2] * h3)

    dnas.relax(rep, "binary")
    for d in (0, 1, 3):
        rep.depth.arch.sample = rep.depths.index(d)
        fixed = dnas.fix(rep, dnas.Architecture({"d": d}))
        assert isinstance(fixed, nn.Sequential) and len(fixed) == d
        xs = x.clone().requires_grad_(True)
        xf = x.clone().requires_grad_(True)
        y, yf = rep(xs), fixed(xf)
        torch.testing.assert_close(y, yf, atol=1e-12, rtol=0)
        y.sum().backward()
        yf.sum().backward()
        torch.testing.assert_close(xs.grad, xf.grad)


def test_fix_has_exactly_the_parameters_of_the_chosen_depth_and_widths():
    w = dnas.ValueChoice([4, 8], label="w")
    k = dnas.ValueChoice([3, 5], label="k")
    stage = dnas.Repeat(lambda i: dnn.InvertedResidual(w, w, k, 2, dim=1),
                        depth=[1, 2, 3], label="depth")
    net = nn.Sequential(dnn.Conv1d(1, w, 3, bias=False), stage)
    for d, width, ks in [(1, 4, 3), (3, 8, 5), (2, 8, 3)]:
        fixed = dnas.fix(net, dnas.Architecture({"w": width, "k": ks, "depth": d}))
        hidden = 2 * width
        block = width * hidden + 2 * hidden + hidden * ks + 2 * hidden + hidden * width + 2 * width
        assert sum(p.numel() for p in fixed.parameters()) == 3 * width + d * block
        assert len(fixed[1]) == d
        assert fixed(torch.randn(2, 1, 7)).shape == (2, width, 7)


def test_every_relaxation_searches_a_depth():
    for method in dnas.methods():
        rep = dnas.Repeat(_blocks, depth=[1, 2], label="d")
        dnas.relax(rep, method)
        dnas.resample(rep, torch.Generator().manual_seed(0))
        rep(torch.randn(3, 4)).pow(2).sum().backward()
        assert rep.depth.arch.alpha.grad is not None, method


def test_fixed_depth_and_errors():
    rep = dnas.Repeat([nn.Linear(2, 2), nn.Linear(2, 2)], depth=2)
    assert len(dnas.fix(rep, dnas.Architecture({}))) == 2
    with pytest.raises(ValueError, match="depths are integers"):
        dnas.Repeat(_blocks, depth=[1, -1])
    with pytest.raises(ValueError, match="blocks given"):
        dnas.Repeat([nn.Identity()], depth=[1, 2])
    with pytest.raises(TypeError, match="callable"):
        dnas.Repeat(3, depth=[1])
    with pytest.raises(ValueError, match="fixed"):
        dnas.Repeat(_blocks, depth=2, label="d")
    bad = dnas.Repeat(lambda i: nn.Linear(4, 4) if i == 0 else nn.Linear(4, 3), depth=[1, 2])
    dnas.relax(bad)
    with pytest.raises(ValueError, match="keep the shape"):
        bad(torch.randn(1, 4))
