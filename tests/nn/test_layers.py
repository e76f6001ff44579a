"""Searchable layers equal the plain layer of the chosen size, in value and gradient, at every
value; mix their values exactly as a weighted sum of those layers; fix to exactly that layer."""

import itertools

import pytest
import torch
from torch import nn

import dnas
import dnas.nn as dnn


def _set_values(model, values: dict):
    """One-hot weights: binary gates with the active candidate set by hand."""
    dnas.relax(model, "binary")
    for label, g in dnas.space.arch_groups(model).items():
        g.sample = g.values.index(values[label])


def _architecture(values: dict) -> dnas.Architecture:
    return dnas.Architecture(values)


def _pad(y: torch.Tensor, n: int, dim: int = 1) -> torch.Tensor:
    shape = list(y.shape)
    shape[dim] = n - y.shape[dim]
    return torch.cat([y, y.new_zeros(shape)], dim=dim)


def _check_equal(model, build_input, values, out_dim=1, atol=1e-12, in_width=None):
    """Outputs (first channels, zeros beyond) and gradients (weights, input) agree; the fixed
    layer reads the first ``in_width`` input channels (all when None)."""
    torch.manual_seed(0)
    _set_values(model, values)
    fixed = dnas.fix(model, _architecture(values))
    assert not any(isinstance(m, dnas.space.ArchParams) for m in fixed.modules())
    x = build_input()
    in_width = x.shape[out_dim] if in_width is None else in_width
    x_fixed = x.detach().narrow(out_dim, 0, in_width).clone().requires_grad_(True)
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    y_fixed = fixed(x_fixed)
    n = y_fixed.shape[out_dim]
    torch.testing.assert_close(y.narrow(out_dim, 0, n), y_fixed, atol=atol, rtol=0)
    assert y.narrow(out_dim, n, y.shape[out_dim] - n).abs().sum() == 0
    g = torch.randn_like(y_fixed)
    (y.narrow(out_dim, 0, n) * g).sum().backward()
    (y_fixed * g).sum().backward()
    torch.testing.assert_close(x.grad.narrow(out_dim, 0, in_width), x_fixed.grad, atol=atol,
                               rtol=0)
    return fixed


def _conv_grads_match(layer, fixed, k_big, k):
    start = (k_big - k) // 2
    window = (slice(start, start + k),) * (layer.weight.dim() - 2)
    c_out, c_in = fixed.weight.shape[:2]
    region = (slice(0, c_out), slice(0, c_in), *window)
    torch.testing.assert_close(layer.weight.grad[region], fixed.weight.grad, atol=1e-12, rtol=0)
    rest = layer.weight.grad.clone()
    rest[region] = 0
    assert rest.abs().max() == 0  # nothing outside the chosen slice learns
    if layer.bias is not None:
        torch.testing.assert_close(layer.bias.grad[:c_out], fixed.bias.grad, atol=1e-12, rtol=0)
        assert layer.bias.grad[c_out:].abs().sum() == 0


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_equals_fixed_conv_at_every_value(dim, bias):
    conv_cls = dnn.Conv1d if dim == 1 else dnn.Conv2d
    space = (2, 8) if dim == 1 else (2, 6, 5)
    for c_in, c_out, k in itertools.product([2, 3], [4, 6], [1, 3, 5]):
        torch.manual_seed(1)
        w_in = dnas.ValueChoice([2, 3], label="cin")
        w_out = dnas.ValueChoice([4, 6], label="cout")
        ks = dnas.ValueChoice([1, 3, 5], label="k")
        layer = conv_cls(w_in, w_out, ks, bias=bias).double()
        values = {"cin": c_in, "cout": c_out, "k": k}

        def build(c_in=c_in, shape=space):
            x = torch.randn(shape[0], 3, *shape[1:], dtype=torch.float64)
            x[:, c_in:] = 0  # the previous layer's mask
            return x

        fixed = _check_equal(layer, build, values, in_width=c_in)
        assert isinstance(fixed, (nn.Conv1d, nn.Conv2d))
        assert fixed.weight.shape == (c_out, c_in, *([k] * dim))
        _conv_grads_match(layer, fixed, 5, k)


@pytest.mark.parametrize("stride,dilation", [(2, 1), (1, 2), (3, 1)])
def test_conv_stride_and_dilation_keep_every_kernel_aligned(stride, dilation):
    for k in (3, 5, 7):
        layer = dnn.Conv2d(3, 4, dnas.ValueChoice([3, 5, 7], label="k"), stride=stride,
                           dilation=dilation).double()
        fixed = _check_equal(layer, lambda: torch.randn(2, 3, 11, 9, dtype=torch.float64),
                             {"k": k})
        assert fixed.padding == (dilation * (k - 1) // 2,) * 2
        _conv_grads_match(layer, fixed, 7, k)


def test_depthwise_conv_with_searchable_width():
    w = dnas.ValueChoice([4, 8], label="w")
    k = dnas.ValueChoice([3, 5], label="k")
    layer = dnn.Conv1d(w, w, k, stride=2, groups=w, bias=False).double()
    for width, ks in itertools.product([4, 8], [3, 5]):
        def build(width=width):
            x = torch.randn(3, 8, 12, dtype=torch.float64)
            x[:, width:] = 0
            return x

        fixed = _check_equal(layer, build, {"w": width, "k": ks}, in_width=width)
        assert fixed.groups == width and fixed.weight.shape == (width, 1, ks)


def test_linear_and_batchnorm_equal_fixed_layers():
    w = dnas.ValueChoice([3, 5, 8], label="w")
    for width in (3, 5, 8):
        torch.manual_seed(0)
        lin = dnn.Linear(4, w).double()
        fixed = _check_equal(lin, lambda: torch.randn(6, 4, dtype=torch.float64),
                             {"w": width}, out_dim=-1)
        assert fixed.weight.shape == (width, 4)
        torch.testing.assert_close(lin.weight.grad[:width], fixed.weight.grad, atol=1e-12, rtol=0)
        torch.testing.assert_close(lin.bias.grad[:width], fixed.bias.grad, atol=1e-12, rtol=0)

        head = dnn.Linear(w, 2).double()

        def masked(width=width):
            x = torch.randn(6, 8, dtype=torch.float64)
            x[:, width:] = 0
            return x

        fixed = _check_equal(head, masked, {"w": width}, out_dim=-1, in_width=width)
        torch.testing.assert_close(head.weight.grad[:, :width], fixed.weight.grad)

        bn = dnn.BatchNorm1d(w).double()
        with torch.no_grad():
            bn.bn.weight.uniform_(0.5, 1.5)
            bn.bn.bias.uniform_(-1, 1)
        fixed = _check_equal(bn, lambda width=width: masked(width).unsqueeze(-1).repeat(1, 1, 3),
                             {"w": width}, in_width=width)
        torch.testing.assert_close(bn.bn.weight.grad[:width], fixed.weight.grad)
        torch.testing.assert_close(bn.bn.running_mean[:width], fixed.running_mean)


@pytest.mark.parametrize("dim", [1, 2])
def test_inverted_residual_equals_fixed_block_at_every_value(dim):
    w = dnas.ValueChoice([4, 6], label="w")
    e = dnas.ValueChoice([3, 6], label="e")
    k = dnas.ValueChoice([3, 5, 7], label="k")
    block = dnn.InvertedResidual(w, w, k, e, dim=dim).double()
    spatial = (9,) if dim == 1 else (5, 4)
    for width, ratio, ks in itertools.product([4, 6], [3, 6], [3, 5, 7]):
        def build(width=width):
            x = torch.randn(4, 6, *spatial, dtype=torch.float64)
            x[:, width:] = 0
            return x

        fixed = _check_equal(block, build, {"w": width, "e": ratio, "k": ks}, in_width=width)
        convs = [m for m in fixed.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]
        assert [c.out_channels for c in convs] == [width * ratio, width * ratio, width]
        assert convs[1].kernel_size == (ks,) * dim
        n_params = sum(p.numel() for p in fixed.parameters())
        hidden = width * ratio
        expected = (width * hidden + 2 * hidden + hidden * ks**dim + 2 * hidden
                    + hidden * width + 2 * width)
        assert n_params == expected


def test_softmax_mixture_is_the_weighted_sum_of_the_fixed_layers():
    # a layer with width and kernel choices = Σ_{a,b} w_a w_b pad(conv_{a,b}(x))
    w = dnas.ValueChoice([2, 5], label="w")
    k = dnas.ValueChoice([3, 5], label="k")
    conv = dnn.Conv1d(3, w, k).double()
    dnas.relax(conv, "darts")
    with torch.no_grad():
        for g in dnas.space.arch_groups(conv).values():
            g.alpha.normal_()
    x = torch.randn(4, 3, 10, dtype=torch.float64)
    expected = 0
    pw, pk = w.weights(), k.weights()
    for (i, width), (j, ks) in itertools.product(enumerate(w.values), enumerate(k.values)):
        fixed = dnas.fix(conv, dnas.Architecture({"w": width, "k": ks}))
        expected = expected + pw[i] * pk[j] * _pad(fixed(x), 5)
    torch.testing.assert_close(conv(x), expected)


def test_binary_gates_give_the_proxyless_gradient_on_value_choices():
    # ∂L/∂α_k = p_k (∂L/∂g_k - Σ_j p_j ∂L/∂g_j), ∂L/∂g_j = <∂L/∂ō, pad(o_j(x))>
    w = dnas.ValueChoice([2, 3, 5], label="w")
    lin = dnn.Linear(4, w).double()
    dnas.relax(lin, "binary")
    group = dnas.space.arch_groups(lin)["w"]
    with torch.no_grad():
        group.alpha.copy_(torch.tensor([0.3, -0.2, 0.5]))
    group.sample = 1
    x = torch.randn(6, 4, dtype=torch.float64)
    g_out = torch.randn(6, 5, dtype=torch.float64)
    (lin(x) * g_out).sum().backward()
    outs = [_pad(dnas.fix(lin, dnas.Architecture({"w": v}))(x), 5, -1) for v in w.values]
    dg = torch.stack([(g_out * o).sum() for o in outs]).detach()
    p = torch.softmax(group.alpha.detach(), 0)
    torch.testing.assert_close(group.alpha.grad, p * (dg - (p * dg).sum()))


def test_every_relaxation_runs_a_value_choice_layer():
    for method in dnas.methods():
        w = dnas.ValueChoice([2, 4], label="w")
        net = nn.Sequential(dnn.Conv1d(1, w, dnas.ValueChoice([3, 5], label="k")), nn.ReLU(),
                            dnn.Conv1d(w, 3, 3))
        dnas.relax(net, method)
        dnas.resample(net, torch.Generator().manual_seed(0))
        out = net(torch.randn(4, 1, 8))
        out.sum().backward()
        assert out.shape == (4, 3, 8)
        assert all(a.grad is not None for a in dnas.arch_parameters(net)), method


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="odd"):
        dnn.Conv2d(3, 4, dnas.ValueChoice([3, 4]))
    with pytest.raises(ValueError, match="out_channels"):
        dnn.Conv1d(3, dnas.ValueChoice([0, 4]), 3)
    with pytest.raises(TypeError, match="in_channels"):
        dnn.Conv1d("3", 4, 3)
    with pytest.raises(ValueError, match="padding"):
        dnn.Conv1d(3, 4, dnas.ValueChoice([3, 5]), padding=1)
    with pytest.raises(ValueError, match="groups"):
        dnn.Conv1d(dnas.ValueChoice([4, 8]), 8, 3, groups=2)
    with pytest.raises(ValueError, match="largest in_channels"):
        dnn.Conv1d(dnas.ValueChoice([2, 3]), 4, 3)(torch.randn(1, 2, 5))
    with pytest.raises(ValueError, match="num_on"):
        lin = dnn.Linear(2, dnas.ValueChoice([2, 3], label="w"))
        dnas.relax(lin, "binary", num_on=2)
        dnas.resample(lin)
        lin(torch.randn(1, 2))


def test_second_order_exact_and_finite_difference_agree_on_value_choices():
    from dnas.optim.gradient import architecture_gradient

    torch.manual_seed(0)
    w = dnas.ValueChoice([2, 3, 4], label="w")
    net = nn.Sequential(dnn.Conv1d(1, w, dnas.ValueChoice([3, 5], label="k")), nn.Tanh(),
                        dnas.Repeat(lambda i: nn.Sequential(dnn.Conv1d(w, w, 3), nn.Tanh()),
                                    depth=[1, 2], label="d"),
                        nn.Flatten(), dnn.Linear(w * 6, 2)).double()
    dnas.relax(net)
    x = torch.randn(8, 1, 6, dtype=torch.float64)
    y = torch.randint(0, 2, (8,))
    opt = torch.optim.SGD(dnas.weight_parameters(net), lr=0.1, momentum=0.9)
    args = (net, nn.functional.cross_entropy, (x, y), (x.flip(0), y.flip(0)), opt, 2)
    exact = architecture_gradient(*args, mode="exact")
    fd = architecture_gradient(*args, mode="finite-difference")
    assert set(exact) == {"w", "k", "d"}
    for label in exact:
        torch.testing.assert_close(fd[label], exact[label], rtol=1e-3, atol=1e-8)
