"""Uniformly random DARTS cells: valid, buildable, reproducible, and drawn from the whole space."""

from collections import Counter

import pytest
import torch

from dnas.spaces.darts import PRIMITIVES, eval_network, parse_architecture, validate_architecture
from dnas.spaces.darts.random import random_architecture


def test_random_architecture_is_valid_and_has_two_distinct_non_none_inputs_per_node():
    for seed in range(20):
        arch = random_architecture(seed)
        validate_architecture(arch)
        cells = parse_architecture(arch)
        assert set(cells) == {"normal", "reduce"}
        for spec in cells.values():
            assert spec.steps == 4 and spec.concat == (2, 3, 4, 5)
            for k, incoming in enumerate(spec.nodes, start=2):
                sources = [j for j, _ in incoming]
                assert len(sources) == 2 and len(set(sources)) == 2
                assert all(0 <= j < k for j in sources)
                assert all(op in PRIMITIVES and op != "none" for _, op in incoming)
        assert arch.meta["seed"] == seed and arch.meta["sampler"] == "uniform"


def test_random_architecture_builds_an_eval_network_in_1d_and_2d():
    arch = random_architecture(3)
    torch.manual_seed(0)
    net1 = eval_network(arch, C=8, layers=3, num_classes=10, auxiliary=False, dim=1,
                        in_channels=1).eval()
    assert net1(torch.randn(2, 1, 40)).shape == (2, 10)
    net2 = eval_network(arch, C=8, layers=3, num_classes=5, auxiliary=False, dim=2,
                        in_channels=3).eval()
    assert net2(torch.randn(2, 3, 16, 16)).shape == (2, 5)


def test_same_seed_same_architecture_and_seeds_differ():
    assert random_architecture(7) == random_architecture(7)
    drawn = {random_architecture(s) for s in range(10)}
    assert len(drawn) == 10  # 10 draws from ~1e19 cells: a repeat would mean a broken sampler
    g = torch.Generator().manual_seed(7)
    assert random_architecture(g) == random_architecture(7)  # an int seeds a fresh generator
    assert random_architecture(g) != random_architecture(7)  # the generator was advanced
    assert "seed" not in random_architecture(torch.Generator().manual_seed(0)).meta


def test_draws_cover_every_op_and_every_input_pair_roughly_uniformly():
    ops, pairs = Counter(), Counter()
    for seed in range(300):
        for spec in parse_architecture(random_architecture(seed)).values():
            for _, op in spec.nodes[3]:  # node 5 reads 2 of states 0..4: 10 possible pairs
                ops[op] += 1
            pairs[tuple(j for j, _ in spec.nodes[3])] += 1
    # 1200 draws over 7 ops (expected ~171 each), 600 over 10 pairs (expected 60 each)
    assert set(ops) == set(PRIMITIVES) - {"none"}
    assert min(ops.values()) > 120 and max(ops.values()) < 230
    assert len(pairs) == 10 and min(pairs.values()) > 30 and max(pairs.values()) < 95


def test_steps_and_primitives_are_respected():
    arch = random_architecture(1, steps=2, primitives=("none", "skip_connect", "avg_pool_3x3"))
    cells = parse_architecture(arch)
    assert all(spec.steps == 2 for spec in cells.values())
    assert {op for spec in cells.values() for node in spec.nodes for _, op in node} <= {
        "skip_connect", "avg_pool_3x3"}


@pytest.mark.parametrize("kwargs,match", [
    ({"seed": -1}, "seed=-1"),
    ({"seed": 1.5}, "seed=1.5"),
    ({"seed": True}, "seed=True"),
    ({"seed": 0, "steps": 0}, "steps=0"),
    ({"seed": 0, "primitives": ("none",)}, "other than 'none'"),
    ({"seed": 0, "primitives": "sep_conv_3x3"}, "sequence of operation names"),
    ({"seed": 0, "primitives": ("sep_conv_3x3", "conv_9x9")}, "conv_9x9"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    seed = kwargs.pop("seed")
    with pytest.raises(ValueError, match=match):
        random_architecture(seed, **kwargs)
