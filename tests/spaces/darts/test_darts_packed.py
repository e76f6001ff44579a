"""The packed DARTS cell computes what the per-edge network computes (float64, ≤ 1e-10):
outputs, losses, every α and weight gradient, every BatchNorm running statistic, first- and
second-order architecture gradients; on the full-size network (C=16, 8 cells), in 1-D and 2-D,
with both depthwise strategies, for every weighted-sum relaxation. The reference is a network
built ``execution="per-edge"`` (weights stored per edge, the paper's formulation) that loads the
packed network's state dict: the checkpoint format is shared."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dnas
from dnas.ops import ReLUConvBN, op_names, register_op
from dnas.space import arch_parameters, resample
from dnas.spaces.darts import PRIMITIVES, search_network

TOL = 1e-10


def _input(dim, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (batch, 3, 8, 8) if dim == 2 else (batch, 1, 16)
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 10, (batch,), generator=g)


def _pair(method="darts", depthwise="auto", options=None, **kwargs):
    """A packed network with random α and its per-edge twin loaded from its state dict."""
    torch.manual_seed(0)
    packed = search_network(execution="packed", **kwargs).double().train()
    dnas.relax(packed, method, **(options or {}))
    packed.packed_depthwise = depthwise
    with torch.no_grad():
        for a in arch_parameters(packed):
            a.normal_()
    per_edge = search_network(execution="per-edge", **kwargs).double().train()
    per_edge.load_state_dict(packed.state_dict())
    dnas.relax(per_edge, method, **(options or {}))
    for net in (packed, per_edge):
        resample(net, torch.Generator().manual_seed(1))  # drnas: the same Dirichlet samples
    return packed, per_edge


def _close(a, b, what):
    scale = max(1.0, b.abs().max().item())
    err = (a - b).abs().max().item() / scale
    assert err <= TOL, f"{what}: {err:.2e}"


def _same_state(packed, per_edge, what):
    a, b = packed.state_dict(), per_edge.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        _close(a[k], b[k], f"{what} {k}")


def _grads(net):
    # per-edge keys for both layouts: the packed network's banks are split as in its state dict
    holder = copy.deepcopy(net)
    for (_, p), (_, q) in zip(net.named_parameters(), holder.named_parameters()):
        with torch.no_grad():
            q.copy_(p.grad if p.grad is not None else torch.zeros_like(p))
    return {k: v for k, v in holder.state_dict().items() if "running" not in k}


def _check_pass(packed, per_edge, x, y):
    outs = []
    for net in (packed, per_edge):
        net.zero_grad(set_to_none=True)
        out = net(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        outs.append((out, loss))
    assert packed._packed_plans() is not None  # the packed path really ran
    _close(outs[0][0], outs[1][0], "output")
    _close(outs[0][1], outs[1][1], "loss")
    ga, gb = _grads(packed), _grads(per_edge)
    for k in gb:
        _close(ga[k], gb[k], f"gradient {k}")
    _same_state(packed, per_edge, "after a training forward")


def _arch_grads(packed, per_edge, batches, order, mode):
    opts = [torch.optim.SGD(dnas.weight_parameters(n), lr=0.1, momentum=0.9, weight_decay=3e-4)
            for n in (packed, per_edge)]
    for net, opt in zip((packed, per_edge), opts):  # a real step: momentum buffers to unroll
        opt.zero_grad()
        F.cross_entropy(net(batches[0][0]), batches[0][1]).backward()
        opt.step()
    _same_state(packed, per_edge, "after an SGD step")
    got = [dnas.architecture_gradient(n, F.cross_entropy, batches[1], batches[2], o,
                                      order=order, mode=mode)
           for n, o in zip((packed, per_edge), opts)]
    assert got[0].keys() == got[1].keys()
    for label in got[1]:
        _close(got[0][label], got[1][label], f"order {order} ∇α {label}")


@pytest.mark.parametrize("dim", [2, 1])
def test_full_size_network_first_and_second_order(dim):
    depthwise = "copies" if dim == 2 else "multiplier"
    packed, per_edge = _pair(C=16, layers=8, dim=dim, depthwise=depthwise)
    # batches of 8: with 2 samples BatchNorm leaves ±1 activations and gradients of ~1e3, and a
    # step amplifies the rounding of the two summation orders past the tolerance (seen: 1e-6)
    x, y = _input(dim, batch=8)
    _check_pass(packed, per_edge, x, y)
    batches = [_input(dim, batch=8, seed=s) for s in (1, 2, 3)]
    # finite differences combine first-order gradients, compared below and on smaller networks
    _arch_grads(packed, per_edge, batches, order=2, mode="exact")
    # a first-order gradient at the new weights
    got = [dnas.architecture_gradient(n, F.cross_entropy, batches[1], batches[2])
           for n in (packed, per_edge)]
    for label in got[1]:
        _close(got[0][label], got[1][label], f"order 1 ∇α {label}")


@pytest.mark.parametrize("depthwise", ["copies", "multiplier"])
@pytest.mark.parametrize(
    "method,options,kwargs",
    [
        ("darts", None, {}),
        ("fair-darts", None, {}),
        ("drnas", None, {}),
        ("pc-darts", {"partial_channels": 1}, {}),
        ("darts", None, {"edge_normalization": True}),
        ("darts", None, {"steps": 3, "multiplier": 2, "primitives": PRIMITIVES[1:]}),
    ],
)
def test_every_weighted_sum_relaxation(method, options, kwargs, depthwise):
    for dim in (1, 2):
        packed, per_edge = _pair(method, depthwise, options, C=4, layers=3, dim=dim, **kwargs)
        _check_pass(packed, per_edge, *_input(dim))


@pytest.mark.parametrize("dim", [1, 2])
def test_second_order_differentiates_through_the_packed_cell(dim):
    packed, per_edge = _pair(C=4, layers=3, dim=dim)
    batches = [_input(dim, seed=s) for s in (1, 2, 3)]
    _arch_grads(packed, per_edge, batches, order=2, mode="exact")
    _arch_grads(packed, per_edge, batches, order=2, mode="finite-difference")


def test_candidates_it_cannot_stack_run_per_edge_inside_the_packed_cell():
    name = "relu_conv_bn_3x3_test"
    if name not in op_names():
        register_op(name)(lambda C, stride, affine, dim, **fk: ReLUConvBN(
            C, C, 3, stride, 1, affine=affine, dim=dim, **fk))
    prims = ("none", "skip_connect", name, "sep_conv_3x3", "avg_pool_3x3")
    packed, per_edge = _pair(C=4, layers=3, dim=2, primitives=prims)
    plan = packed.cells[0].packed_plan()
    assert [n for n, _ in plan.states[0].generic] == [name]
    _check_pass(packed, per_edge, *_input(2))


def test_sampling_relaxations_run_per_edge():
    packed, per_edge = _pair("gdas", C=4, layers=3, dim=1)
    packed.execution = "auto"
    assert packed._packed_plans() is None
    x, _ = _input(1)
    torch.testing.assert_close(packed(x), per_edge(x), rtol=0, atol=TOL)
    packed.execution = "packed"
    with pytest.raises(ValueError, match=r"execution='packed'.*method='gdas'"):
        packed(x)


def test_eval_mode_and_fixed_networks_run_per_edge():
    packed, per_edge = _pair(C=4, layers=3, dim=1)
    x, _ = _input(1)
    for net in (packed, per_edge):
        net(x)  # move the running statistics away from their initial values
        net.eval()
    assert packed._packed_plans() is None
    with torch.no_grad():
        torch.testing.assert_close(packed(x), per_edge(x), rtol=0, atol=TOL)
    arch = packed.derive_architecture()
    assert arch.to_json() == per_edge.derive_architecture().to_json()
    fixed = dnas.fix(packed.train(), arch)
    assert fixed._packed_plans() is None
    assert fixed(x).shape == (2, 10)


def test_checkpoints_move_between_packed_and_per_edge_networks():
    packed, per_edge = _pair(C=4, layers=3, dim=2)
    a, b = packed.state_dict(), per_edge.state_dict()
    assert set(a) == set(b)
    assert all(a[k].shape == b[k].shape for k in a)
    assert not any(k.endswith("num_batches_tracked") for k in a)
    x, y = _input(2)
    _check_pass(packed, per_edge, x, y)  # both trained a step: new weights and statistics
    back = search_network(C=4, layers=3, dim=2, execution="per-edge").double()
    back.load_state_dict(packed.state_dict())
    _same_state(back, packed, "per-edge loaded from packed")
    again = search_network(C=4, layers=3, dim=2).double()
    again.load_state_dict(per_edge.state_dict())
    _same_state(again, per_edge, "packed loaded from per-edge")


def test_a_state_dict_with_step_counters_still_loads():
    old = search_network(C=4, layers=2, dim=1).state_dict()
    for key in [k for k in old if k.endswith("running_var")]:
        old[key[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(7)
    net = search_network(C=4, layers=2, dim=1)
    net.load_state_dict(old)  # strict: the counters are accepted and dropped
    assert not any(k.endswith("num_batches_tracked") for k in net.state_dict())


def test_missing_weights_are_named_as_saved():
    net = search_network(C=4, layers=2, dim=1)
    state = net.state_dict()
    key = next(k for k in state if "sep_conv_3x3.0.1.weight" in k)
    del state[key]
    with pytest.raises(RuntimeError, match="sep_conv_3x3.0.1.weight"):
        net.load_state_dict(state)


def test_banked_candidates_still_run_on_their_own():
    net = search_network(C=4, layers=3, dim=1)  # cell 0 is a normal cell of C=4
    edge = net.cells[0].edges["edge_2_0"]
    op = edge.candidates["sep_conv_3x3"]
    x = torch.randn(2, 4, 8, requires_grad=True)
    op(x).sum().backward()
    bank = [p for n, p in net.cells[0].named_parameters(recurse=False) if n.startswith("bank_")]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in bank)
    assert op[0][1].weight is None  # at rest a banked weight lives in the bank only
    copied = copy.deepcopy(net)
    y = torch.randn(2, 1, 8)
    torch.testing.assert_close(copied(y), net(y))


def test_execution_option():
    with pytest.raises(ValueError, match="execution='fast'"):
        search_network(C=4, layers=2, execution="fast")
    net = search_network(C=4, layers=2, execution="per-edge")
    assert not any(n.startswith("cells.0.bank_") for n, _ in net.named_parameters())
    with pytest.raises(ValueError, match="execution='per-edge'"):
        net.execution = "packed"
    packed = search_network(C=4, layers=2)
    assert packed.execution == "auto"
    packed.execution = "per-edge"  # a banked network runs per edge on request
    x = torch.randn(2, 3, 8, 8)
    assert packed._packed_plans() is None and packed(x).shape == (2, 10)
    packed.packed_depthwise = "sideways"
    packed.execution = "packed"
    with pytest.raises(ValueError, match="depthwise='sideways'"):
        packed(x)


def test_fewer_parameters_to_step():
    packed = search_network(C=16, layers=8)
    per_edge = search_network(C=16, layers=8, execution="per-edge")
    count = lambda net: sum(p.numel() for p in dnas.weight_parameters(net))  # noqa: E731
    assert count(packed) == count(per_edge)
    assert len(list(dnas.weight_parameters(packed))) < len(list(
        dnas.weight_parameters(per_edge))) / 10
    assert not any(isinstance(m, nn.BatchNorm2d) and m.num_batches_tracked is not None
                   for m in packed.modules())
