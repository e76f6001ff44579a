"""The weighted sum as one contraction: the same outputs and gradients as Σ_j w_j·o_j(x) term by
term (float64, 1e-12), zero candidates not run, α_none still exact, no per-candidate mul/add."""

import copy
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import dnas
import dnas.relaxations.base as base
import dnas.relaxations.pc_darts as pc_darts
from dnas.ops import Zero
from dnas.relaxations.mixture import nonzero_span, weighted_sum
from dnas.space.binding import bind
from dnas.spaces.darts import search_network

TOL = {"rtol": 1e-12, "atol": 1e-12}


def term_by_term(w, ops, args, kwargs):
    """The formulation this replaces: every candidate run, one multiply and one add each."""
    return sum(wj * op(*args, **kwargs) for wj, op in zip(w.unbind(0), ops))


def term_by_term_inputs(self, choice, inputs):
    return sum(wj * x for wj, x in zip(choice.arch.weights().unbind(0), inputs))


def _reference(monkeypatch):
    monkeypatch.setattr(base, "mixed_output", term_by_term)
    monkeypatch.setattr(base.Relaxation, "mix_inputs", term_by_term_inputs)
    monkeypatch.setattr(pc_darts, "mixed_output", term_by_term)


def _run(net, x, y, seed):
    """Output, loss, every gradient and every buffer after one forward/backward in train mode."""
    dnas.resample(net, torch.Generator().manual_seed(seed))
    out = net(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    buffers = {n: b.clone() for n, b in net.named_buffers()}
    return out.detach(), loss.detach(), grads, buffers


@pytest.mark.parametrize(("method", "options", "dim"), [
    ("darts", {}, 2), ("darts", {}, 1), ("fair-darts", {}, 2), ("drnas", {}, 2),
    ("pc-darts", {"partial_channels": 2}, 2),
])
def test_search_network_matches_the_term_by_term_sum(method, options, dim, monkeypatch):
    torch.manual_seed(0)
    k = options.get("partial_channels", 1)
    net = search_network(C=4, layers=4, num_classes=3, dim=dim, partial_channels=k,
                         edge_normalization=method == "pc-darts").double()
    dnas.relax(net, method, **options)
    with torch.no_grad():
        for a in dnas.arch_parameters(net):
            a.copy_(torch.randn_like(a))
    reference_net = copy.deepcopy(net)
    shape = (4, 3, 8, 8) if dim == 2 else (4, 1, 16)
    x = torch.randn(*shape, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2])
    zero_calls = Counter()
    for m in net.modules():
        if isinstance(m, Zero):
            m.register_forward_hook(lambda mod, a, o: zero_calls.update([id(mod)]))
    got = _run(net, x, y, seed=1)
    _reference(monkeypatch)
    want = _run(reference_net, x, y, seed=1)
    torch.testing.assert_close(got[0], want[0], **TOL)
    torch.testing.assert_close(got[1], want[1], **TOL)
    assert got[2].keys() == want[2].keys()
    for n in want[2]:
        torch.testing.assert_close(got[2][n], want[2][n], **TOL, msg=n)
    for n in want[3]:
        torch.testing.assert_close(got[3][n], want[3][n], **TOL, msg=n)
    assert not zero_calls  # `none` comes first in every edge: never run
    none = net.primitives.index("none")
    for label, group in bind(net).items():
        # α_none is coupled to the others through the softmax (Fair DARTS' sigmoids are not)
        if group.kind == "layer" and method != "fair-darts":
            assert got[2][f"{_name(net, group)}"][none] != 0, label


def _name(net, group):
    return next(n for n, p in net.named_parameters() if p is group.alpha)


class Scale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return self.c * x


def _choice(ops, seed=0):
    torch.manual_seed(seed)
    choice = dnas.LayerChoice(ops, label="e").double()
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.randn(len(ops), dtype=torch.float64))
    return choice


@pytest.mark.parametrize("layout", ["first", "last", "middle", "ends", "all", "none"])
def test_zero_candidates_anywhere(layout, monkeypatch):
    n = 5
    zero_at = {"first": {0}, "last": {4}, "middle": {2}, "ends": {0, 4}, "all": set(range(n)),
               "none": set()}[layout]
    ops = {f"o{j}": (Zero() if j in zero_at else nn.Sequential(nn.Linear(3, 3), Scale(j + 1)))
           for j in range(n)}
    choice = _choice(ops).double()
    ref = copy.deepcopy(choice)
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(6, 3, dtype=torch.float64)
    out = choice(x)
    (out * c).sum().backward()
    _reference(monkeypatch)
    x_ref = x.detach().clone().requires_grad_(True)
    out_ref = ref(x_ref)
    (out_ref * c).sum().backward()
    torch.testing.assert_close(out, out_ref, **TOL)
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL)
    torch.testing.assert_close(choice.arch.alpha.grad, ref.arch.alpha.grad, **TOL)
    for (name, p), p_ref in zip(choice.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, **TOL, msg=name)
    if layout not in ("all", "none"):
        assert (choice.arch.alpha.grad[list(zero_at)] != 0).all()


def test_nonzero_span_cuts_zeros_at_the_ends_only():
    z, i = Zero(), nn.Identity()
    assert nonzero_span([z, i, i]) == (1, 3)
    assert nonzero_span([i, i, z, z]) == (0, 2)
    assert nonzero_span([z, i, z, i, z]) == (1, 4)
    assert nonzero_span([z, z]) == (0, 2)  # nothing else: the zeros give the shape
    assert nonzero_span([i]) == (0, 1)


def test_broadcasting_outputs_and_single_inputs_keep_the_plain_sum():
    w = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    xs = [torch.randn(4, 1, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64),
          torch.randn(3, dtype=torch.float64)]
    torch.testing.assert_close(weighted_sum(w, xs), 0.2 * xs[0] + 0.3 * xs[1] + 0.5 * xs[2])
    torch.testing.assert_close(weighted_sum(w[:1], xs[:1]), 0.2 * xs[0])
    scalars = [torch.tensor(2.0, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64)]
    assert weighted_sum(w[:2], scalars).shape == ()
    torch.testing.assert_close(weighted_sum(w[:2], scalars), torch.tensor(0.1, dtype=w.dtype))
    empty = [torch.zeros(0, 3), torch.zeros(0, 3)]
    assert weighted_sum(torch.ones(2), empty).shape == (0, 3)


class CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def test_one_edge_mixes_with_one_stack_and_one_matrix_product():
    ops = {"none": Zero(), **{f"id{j}": nn.Identity() for j in range(7)}}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, "darts")
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    with CountOps() as forward:
        out = choice(x)
    with CountOps() as backward:
        out.backward(torch.ones_like(out))
    assert forward.calls["stack"] == 1 and forward.calls["mm"] == 1
    assert not {"mul", "add", "zeros_like"} & set(forward.calls), forward.calls
    assert backward.calls["mm"] == 2 and not {"mul", "sum"} & set(backward.calls), backward.calls
    torch.testing.assert_close(x.grad, torch.full_like(x, 1 - torch.softmax(
        choice.arch.alpha.detach(), 0)[0].item()))
