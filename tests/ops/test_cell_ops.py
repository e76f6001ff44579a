"""Registry-driven tests over every cell operation, in 1-D and 2-D."""

import math

import pytest
import torch
from torch import nn

from dnas.ops import FactorizedReduce, ReLUConvBN, create_op, op_names, register_op

C = 6
ALL = [(name, dim) for name in op_names() for dim in (1, 2)]


def _input(dim, size, generator, channels=C, batch=3):
    return torch.randn(batch, channels, *([size] * dim), generator=generator)


def _expected_params(name, C, stride, affine, dim):
    """Parameter counts written from the DARTS paper's definitions (appendix A.1)."""
    bn = 2 * C if affine else 0
    if name == "none" or "pool" in name or (name == "skip_connect" and stride == 1):
        return 0
    if name == "skip_connect":  # factorized reduce: two 1x1 convs to C/2 channels each, then BN
        return C * (C // 2) + C * (C - C // 2) + bn
    kernel = int(name[-1])
    block = C * kernel**dim + C * C + bn  # depthwise k^dim, pointwise 1x1, BN
    return 2 * block if name.startswith("sep_conv") else block


@pytest.mark.parametrize("name,dim", ALL)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [8, 7])
def test_shape_and_gradients(name, dim, stride, size):
    g = torch.Generator().manual_seed(0)
    op = create_op(name, C, stride, affine=True, dim=dim)
    x = _input(dim, size, g).requires_grad_(True)
    y = op(x)
    expect = (3, C, *([math.ceil(size / stride)] * dim))
    assert tuple(y.shape) == expect
    if name == "none":
        assert not y.requires_grad and torch.count_nonzero(y) == 0
        return
    y.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, p in op.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name,dim", ALL)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("affine", [True, False])
def test_parameter_counts(name, dim, stride, affine):
    op = create_op(name, C, stride, affine=affine, dim=dim)
    assert sum(p.numel() for p in op.parameters()) == _expected_params(name, C, stride, affine, dim)


@pytest.mark.parametrize("name,dim", ALL)
def test_dimension_specific_layers(name, dim):
    op = create_op(name, C, 2, affine=True, dim=dim)
    wrong = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d) if dim == 1 else (
        nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AvgPool1d)
    assert not any(isinstance(m, wrong) for m in op.modules())


@pytest.mark.parametrize("name", op_names())
def test_device_and_dtype(name):
    op = create_op(name, C, 2, affine=True, dim=2, dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in op.parameters())
    y = op(torch.randn(2, C, 6, 6, dtype=torch.float64))
    assert y.dtype == torch.float64
    meta = create_op(name, C, 2, affine=True, dim=1, device="meta")
    assert all(p.device.type == "meta" for p in meta.parameters())


def test_avg_pool_excludes_padding():
    # count_include_pad=False: a constant input stays constant at the borders too
    for dim in (1, 2):
        y = create_op("avg_pool_3x3", C, 1, dim=dim)(torch.ones(1, C, *([5] * dim)))
        assert torch.allclose(y, torch.ones_like(y))


@pytest.mark.parametrize("dim", [1, 2])
def test_factorized_reduce_matches_unpadded_form_on_even_sizes(dim):
    # DARTS' definition concatenates conv_1(x) and conv_2(x shifted by one) with no padding;
    # our padded shift must give exactly that on even sizes
    g = torch.Generator().manual_seed(1)
    fr = FactorizedReduce(C, C, affine=False, dim=dim)
    x = _input(dim, 8, g)
    shifted = torch.relu(x)[(..., *([slice(1, None)] * dim))]
    ref = fr.bn(torch.cat([fr.conv_1(torch.relu(x)), fr.conv_2(shifted)], dim=1))
    assert torch.allclose(fr(x), ref, atol=1e-6)


def test_factorized_reduce_odd_channels():
    fr = FactorizedReduce(4, 5, dim=1)
    assert fr(torch.randn(2, 4, 9)).shape == (2, 5, 5)
    with pytest.raises(ValueError, match="C_out"):
        FactorizedReduce(4, 1)


def test_relu_conv_bn_is_the_cell_preprocessing():
    m = ReLUConvBN(5, 7, 1, 1, 0, affine=False, dim=1)
    assert sum(p.numel() for p in m.parameters()) == 5 * 7
    x = torch.randn(2, 5, 4)
    out = m(x)
    assert out.shape == (2, 7, 4) and torch.all(m(-x.abs()).abs() < 1e-6)  # ReLU first


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(name="conv_9x9"), "unknown operation 'conv_9x9'"),
        (dict(C=0), "C=0"),
        (dict(stride=3), "stride=3"),
        (dict(dim=3), "dim=3"),
        (dict(dim=True), "dim=True"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(name="sep_conv_3x3", C=4, stride=1, affine=True, dim=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        create_op(**args)


def test_register_twice_is_an_error():
    with pytest.raises(ValueError, match="registered twice"):
        register_op("sep_conv_3x3")(lambda *a, **k: nn.Identity())
