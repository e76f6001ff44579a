"""The retraining network: parity with the paper's NetworkCIFAR, auxiliary head, drop path."""

import pytest
import torch
from torch import nn

import dnas
from dnas.spaces.darts import (
    EvalCell,
    drop_path,
    eval_network,
    from_genotype,
    genotype,
    parse_architecture,
)

# The DARTS (second order) CIFAR-10 network, C=36, 20 cells, counted with and without the head.
DARTS_V2_PARAMS = 3_349_342
DARTS_V2_PARAMS_AUX = 3_825_768


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_darts_v2_parameter_counts():
    arch = genotype("DARTS_V2")
    assert _count(eval_network(arch, C=36, layers=20, auxiliary=False)) == DARTS_V2_PARAMS
    assert _count(eval_network(arch, C=36, layers=20, auxiliary=True)) == DARTS_V2_PARAMS_AUX


@pytest.mark.parametrize("name,millions", [("PC_DARTS", 3.6), ("PDARTS", 3.4), ("GDAS", 3.4)])
def test_zoo_sizes_match_the_papers_rounded_figures(name, millions):
    # each paper reports its CIFAR-10 model size to 0.1M (a check on the genotype data)
    n = _count(eval_network(genotype(name), C=36, layers=20, auxiliary=False))
    assert round(n / 1e6, 1) == millions


def test_train_mode_returns_auxiliary_logits_and_eval_mode_does_not():
    torch.manual_seed(0)
    net = eval_network(genotype("DARTS_V2"), C=4, layers=3, num_classes=7, drop_path_prob=0.2)
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net.train()(x)
    assert logits.shape == aux.shape == (2, 7)
    (logits.sum() + 0.4 * aux.sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    out = net.eval()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7)
    assert isinstance(eval_network(genotype("DARTS_V2"), C=4, layers=3, auxiliary=False)
                      .train()(x), torch.Tensor)


def test_one_dimensional_network():
    torch.manual_seed(0)
    net = eval_network(genotype("PC_DARTS"), C=4, layers=3, num_classes=10, dim=1)
    assert not any(isinstance(m, (nn.Conv2d, nn.BatchNorm2d)) for m in net.modules())
    logits, aux = net.train()(torch.randn(4, 1, 40))  # MNIST-1D length
    assert logits.shape == aux.shape == (4, 10)
    logits.sum().backward()
    assert net(torch.randn(2, 1, 40))[0].shape == (2, 10)


def test_auxiliary_head_position_and_affine_batch_norm():
    net = eval_network(genotype("DARTS_V2"), C=36, layers=20)
    assert net.aux_position == 13
    assert net.auxiliary_head.features[2].in_channels == net.cells[13].multiplier * 36 * 4
    assert all(m.affine for m in net.modules() if isinstance(m, nn.BatchNorm2d))


def test_auxiliary_head_needs_an_8_wide_map():
    net = eval_network(genotype("DARTS_V2"), C=4, layers=3, dim=1).train()
    with pytest.raises(ValueError, match="at least 8 wide"):
        net(torch.randn(2, 1, 24))  # 24 -> 12 -> 6 at the head


def test_drop_path_zeroes_whole_samples_and_rescales():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(4000, 3, 2)
    y = drop_path(x, 0.25, g)
    per_sample = y.flatten(1)
    kept = (per_sample != 0).all(1)
    assert torch.equal(kept, (per_sample != 0).any(1))  # all or nothing per sample
    assert torch.allclose(per_sample[kept], torch.full_like(per_sample[kept], 1 / 0.75))
    assert abs(kept.float().mean().item() - 0.75) < 0.03


def _cell(ops):
    arch = from_genotype(ops, ops)
    spec = parse_architecture(arch)["normal"]
    return EvalCell(spec, 4, 4, 4, reduction=False, reduction_prev=False, dim=1)


def test_drop_path_spares_identity_edges():
    torch.manual_seed(0)
    s0, s1 = torch.randn(8, 4, 6), torch.randn(8, 4, 6)
    skips = _cell([("skip_connect", 0), ("skip_connect", 1)] * 4).train()
    assert torch.equal(skips(s0, s1, 0.9), skips(s0, s1, 0.0))
    convs = _cell([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4).train()
    g = torch.Generator().manual_seed(0)
    assert not torch.allclose(convs(s0, s1, 0.9, g), convs(s0, s1, 0.0))
    assert torch.equal(convs.eval()(s0, s1, 0.9), convs.eval()(s0, s1, 0.0))  # training only


def test_drop_path_generator_makes_it_reproducible():
    net = eval_network(genotype("DARTS_V2"), C=4, layers=3, auxiliary=False, drop_path_prob=0.3)
    net.train()
    x = torch.randn(4, 3, 8, 8)
    outs = []
    for _ in range(2):
        net.generator = torch.Generator().manual_seed(5)
        outs.append(net(x))
    assert torch.equal(outs[0], outs[1])


def test_concat_from_meta_sets_the_cell_width():
    base = genotype("DARTS_V2")
    narrow = dnas.Architecture(base, meta={"normal_concat": [4, 5], "reduce_concat": [2, 3, 4, 5]})
    net = eval_network(narrow, C=4, layers=3, auxiliary=False)
    assert [c.multiplier for c in net.cells] == [2, 4, 4]
    assert net(torch.randn(1, 3, 8, 8)).shape == (1, 10)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(C=0), ValueError, "C=0"),
        (dict(layers=0), ValueError, "layers=0"),
        (dict(dim=4), ValueError, "dim=4"),
        (dict(drop_path_prob=1.0), ValueError, "drop_path_prob=1.0"),
        (dict(auxiliary="yes"), ValueError, "auxiliary='yes'"),
        (dict(architecture={"normal/edge_2_0": "skip_connect"}), TypeError, "dnas.Architecture"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = dict(architecture=genotype("DARTS_V2"), C=4, layers=3)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        eval_network(**args)


def test_layers_that_need_a_missing_cell_type():
    reduce_only = dnas.Architecture(
        {k: v for k, v in genotype("DARTS_V2").items() if k.startswith("reduce")}
    )
    eval_network(reduce_only, C=4, layers=2, auxiliary=False)  # both cells reduce
    with pytest.raises(ValueError, match="needs a 'normal' cell"):
        eval_network(reduce_only, C=4, layers=3)


def test_wrong_input_shape():
    net = eval_network(genotype("DARTS_V2"), C=4, layers=3)
    with pytest.raises(ValueError, match=r"dim=2 network"):
        net(torch.randn(2, 3, 32))
