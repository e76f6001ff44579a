"""DARTS' export rule on hand-set α, against an independent formulation, and the derived
architecture's round trips (JSON, eval_network, dnas.fix)."""

import numpy as np
import pytest
import torch

import dnas
from dnas.ops import Zero
from dnas.space import LayerChoice, bind
from dnas.spaces.darts import (
    GENOTYPES,
    PRIMITIVES,
    edge_label,
    eval_network,
    genotype,
    search_network,
    to_genotype,
    validate_architecture,
)

EDGES = [(k, j) for k in range(2, 6) for j in range(k)]


@pytest.fixture(scope="module")
def tiny():
    """A small 1-D search network that has both cell types (cells: normal, reduce, reduce)."""
    torch.manual_seed(0)
    return search_network(C=4, layers=3, dim=1, num_classes=3)


def _set_alpha(net, cell, logits):
    """``logits``: {(k, j): {op: value}}; every other logit 0."""
    groups = bind(net)
    with torch.no_grad():
        for k, j in EDGES:
            alpha = groups[edge_label(cell, k, j)].alpha
            alpha.zero_()
            for op, value in logits.get((k, j), {}).items():
                alpha[PRIMITIVES.index(op)] = value


def test_hand_set_alpha_gives_the_known_genotype(tiny):
    _set_alpha(tiny, "normal", {
        (2, 0): {"sep_conv_3x3": 5.0},
        (2, 1): {"skip_connect": 4.0},
        # edge (3,0): 'none' dominates, so its best real op is weak and the edge is dropped
        (3, 0): {"none": 10.0, "dil_conv_3x3": 2.0},
        (3, 1): {"max_pool_3x3": 3.0},
        (3, 2): {"sep_conv_5x5": 1.0},
        (4, 0): {"avg_pool_3x3": 3.0},
        (4, 1): {"sep_conv_3x3": 2.5},
        (4, 3): {"skip_connect": 2.8},
        # edge (5,2): 'none' shares the top with skip_connect, halving its strength
        (5, 0): {"sep_conv_3x3": 4.0},
        (5, 2): {"skip_connect": 5.0, "none": 5.0},
        (5, 4): {"dil_conv_5x5": 6.0},
    })
    _set_alpha(tiny, "reduce", {
        (2, 0): {"max_pool_3x3": 1.0}, (2, 1): {"sep_conv_5x5": 1.0},
        (3, 2): {"dil_conv_3x3": 2.0}, (3, 0): {"avg_pool_3x3": 1.5}, (3, 1): {"none": 9.0},
        (4, 3): {"skip_connect": 1.0}, (4, 1): {"dil_conv_5x5": 2.0},
        (5, 4): {"sep_conv_3x3": 3.0}, (5, 3): {"max_pool_3x3": 2.0},
    })
    arch = tiny.derive_architecture()
    assert to_genotype(arch) == {
        "normal": [("sep_conv_3x3", 0), ("skip_connect", 1),
                   ("max_pool_3x3", 1), ("sep_conv_5x5", 2),
                   ("avg_pool_3x3", 0), ("skip_connect", 3),
                   ("sep_conv_3x3", 0), ("dil_conv_5x5", 4)],
        "normal_concat": [2, 3, 4, 5],
        "reduce": [("max_pool_3x3", 0), ("sep_conv_5x5", 1),
                   ("avg_pool_3x3", 0), ("dil_conv_3x3", 2),
                   ("dil_conv_5x5", 1), ("skip_connect", 3),
                   ("max_pool_3x3", 3), ("sep_conv_3x3", 4)],
        "reduce_concat": [2, 3, 4, 5],
    }
    assert arch["normal/edge_3_0"] == ("none",)
    assert arch.meta["space"] == "darts"
    assert len(arch.meta["probabilities"]["normal/edge_2_0"]) == len(PRIMITIVES)


def test_uniform_alpha_keeps_the_first_inputs_and_the_first_real_op(tiny):
    # exact ties: the lower input index and the first non-'none' candidate win, as in DARTS
    _set_alpha(tiny, "normal", {})
    _set_alpha(tiny, "reduce", {})
    g = to_genotype(tiny.derive_architecture())
    assert g["normal"] == g["reduce"] == [("max_pool_3x3", j) for _ in range(4) for j in (0, 1)]


def _reference_rule(W, beta=None):
    """The export rule written independently: W is (14, 8) probabilities, rows in edge order."""
    gene, row = [], 0
    for k in range(2, 6):
        block = W[row : row + k].copy()
        if beta is not None:
            b = np.exp(beta[row : row + k] - beta[row : row + k].max())
            block *= (b / b.sum())[:, None]
        strength = block[:, 1:].max(axis=1)  # column 0 is 'none'
        kept = np.argsort(-strength, kind="stable")[:2]
        gene += sorted((int(j), PRIMITIVES[1 + int(np.argmax(block[j, 1:]))]) for j in kept)
        row += k
    return [(op, j) for j, op in gene]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("edge_normalization", [False, True])
def test_matches_an_independent_formulation_on_random_alpha(seed, edge_normalization):
    torch.manual_seed(seed)
    net = search_network(C=4, layers=3, dim=1, edge_normalization=edge_normalization)
    groups = bind(net)
    with torch.no_grad():
        for g in groups.values():
            g.alpha.normal_(0, 1.5)
    arch = net.derive_architecture()
    got = to_genotype(arch)
    for cell in ("normal", "reduce"):
        W = np.stack([torch.softmax(groups[edge_label(cell, k, j)].alpha.detach(), 0).numpy()
                      for k, j in EDGES])
        beta = None
        if edge_normalization:
            beta = np.concatenate([groups[f"{cell}/node_{k}"].alpha.detach().numpy()
                                   for k in range(2, 6)])
        assert got[cell] == _reference_rule(W, beta)
        if edge_normalization:
            for k in range(2, 6):
                kept = [str(j) for op, j in got[cell][2 * (k - 2) : 2 * (k - 1)]]
                assert list(arch[f"{cell}/node_{k}"]) == kept


def test_edge_normalization_can_overrule_alpha():
    torch.manual_seed(0)
    net = search_network(C=4, layers=3, dim=1, edge_normalization=True)
    _set_alpha(net, "normal", {(3, 0): {"sep_conv_3x3": 4.0}, (3, 1): {"sep_conv_5x5": 2.0},
                               (3, 2): {"dil_conv_3x3": 1.0}})
    plain = [g for g in to_genotype(net.derive_architecture())["normal"][2:4]]
    assert plain == [("sep_conv_3x3", 0), ("sep_conv_5x5", 1)]
    beta = bind(net)["normal/node_3"].alpha
    with torch.no_grad():
        beta.copy_(torch.tensor([-4.0, 1.0, 1.0]))
    arch = net.derive_architecture()
    assert to_genotype(arch)["normal"][2:4] == [("sep_conv_5x5", 1), ("dil_conv_3x3", 2)]
    assert arch["normal/node_3"] == ("1", "2")


@pytest.mark.parametrize("name", [n for n in GENOTYPES if n != "DARTS"])
def test_alpha_built_from_a_genotype_derives_that_genotype(tiny, name):
    target = genotype(name)
    for cell in ("normal", "reduce"):
        wanted = {(k, j): {op: 3.0} for (k, j), op in _edges(target, cell) if op != "none"}
        _set_alpha(tiny, cell, wanted)
    assert tiny.derive_architecture() == target


def _edges(arch, cell):
    return [((k, j), arch[edge_label(cell, k, j)][0]) for k, j in EDGES]


def test_derived_architecture_round_trips_and_builds(tiny, tmp_path):
    torch.manual_seed(3)
    with torch.no_grad():
        for g in bind(tiny).values():
            g.alpha.normal_()
    arch = tiny.derive_architecture()
    assert dnas.derive(tiny) == arch  # the generic entry point uses the space's rule
    again = dnas.Architecture.from_json(arch.to_json())
    assert again == arch and again.meta["normal_concat"] == [2, 3, 4, 5]
    assert dnas.Architecture.load(arch.save(tmp_path / "arch.json")) == arch
    validate_architecture(again)
    net = eval_network(again, C=4, layers=3, dim=1, num_classes=3, auxiliary=False)
    assert net(torch.randn(2, 1, 16)).shape == (2, 3)


def test_fix_turns_the_search_network_into_the_derived_cells(tiny):
    arch = tiny.derive_architecture()
    fixed = dnas.fix(tiny, arch)
    assert not any(isinstance(m, LayerChoice) for m in fixed.modules())
    assert list(dnas.arch_parameters(fixed)) == []
    edges = fixed.cells[0].edges
    for (k, j), op in _edges(arch, "normal"):
        assert isinstance(edges[f"edge_{k}_{j}"], Zero) == (op == "none")
    x = torch.randn(2, 1, 16)
    assert fixed(x).shape == (2, 3)


def test_edge_normalized_architecture_fixes_and_builds():
    torch.manual_seed(1)
    net = search_network(C=4, layers=3, dim=1, edge_normalization=True)
    arch = net.derive_architecture()
    fixed = dnas.fix(net, arch)
    assert fixed(torch.randn(2, 1, 16)).shape == (2, 10)
    model = eval_network(arch, C=4, layers=3, dim=1, auxiliary=False)
    plain = eval_network(
        dnas.Architecture({k: v for k, v in arch.items() if "/node_" not in k}, meta=arch.meta),
        C=4, layers=3, dim=1, auxiliary=False,
    )
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in plain.parameters())


def test_primitives_without_none():
    prims = ("skip_connect", "sep_conv_3x3", "max_pool_3x3")
    net = search_network(C=4, layers=3, dim=1, primitives=prims)
    arch = net.derive_architecture()
    g = to_genotype(arch)
    assert all(op in prims for op, _ in g["normal"] + g["reduce"])
    assert sum(op == "none" for op in (v[0] for k, v in arch.items())) == 2 * (14 - 8)
    eval_network(arch, C=4, layers=3, dim=1, auxiliary=False)
