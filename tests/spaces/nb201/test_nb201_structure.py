"""The NAS-Bench-201 string format, dead edges and canonical forms."""

import itertools
import random

import pytest

from dnas.spaces import nb201
from dnas.spaces.nb201 import EDGES, OPS, OPS_4

# the best CIFAR-10 cell of NAS-Bench-201 (the paper's optimum), as the benchmark writes it
BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)


def test_string_round_trip_every_cell_of_the_space():
    for ops in nb201.enumerate_cells(OPS):
        text = nb201.to_string(ops)
        assert nb201.from_string(text) == ops
        arch = nb201.to_architecture(text)
        assert nb201.to_string(arch) == text
        assert nb201.to_ops(dict(arch)) == ops


def test_string_layout():
    ops = nb201.from_string(BEST)
    assert dict(zip(EDGES, ops))[(3, 0)] == "skip_connect"
    assert nb201.to_architecture(BEST)["3<-0"] == ("skip_connect",)
    assert len(list(nb201.enumerate_cells(OPS))) == 5**6


@pytest.mark.parametrize("bad", [
    "", "|nor_conv_3x3~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",
    "none~0+none~0|none~1",
])
def test_bad_strings_are_rejected_with_the_text(bad):
    with pytest.raises(ValueError, match="NAS-Bench-201|node|operation"):
        nb201.from_string(bad)


def test_bad_architectures_name_the_problem():
    with pytest.raises(ValueError, match="missing labels"):
        nb201.to_ops({"1<-0": "none"})
    arch = dict(zip(nb201.LABELS, ["none"] * 6))
    arch["2<-1"] = "sep_conv_3x3"
    with pytest.raises(ValueError, match="2<-1"):
        nb201.to_ops(arch)
    with pytest.raises(ValueError, match="repeats"):
        nb201.check_ops(["none", "none", "skip_connect"])


def _swap(ops):
    e = dict(zip(EDGES, ops))
    e[(1, 0)], e[(2, 0)], e[(3, 1)], e[(3, 2)] = e[(2, 0)], e[(1, 0)], e[(3, 2)], e[(3, 1)]
    return tuple(e[x] for x in EDGES)


def test_isomorphic_cells_share_one_row():
    rng = random.Random(0)
    for _ in range(300):
        ops = list(rng.choice(OPS) for _ in EDGES)
        ops[EDGES.index((2, 1))] = "none"  # nodes 1 and 2 interchangeable
        ops = tuple(ops)
        assert nb201.canonical(ops) == nb201.canonical(_swap(ops))
        assert nb201.cell_key(ops) == nb201.cell_key(_swap(ops))


def test_dead_edges_do_not_matter():
    # node 1 gets nothing, so 2<-1 and 3<-1 are dead; node 2 does not reach the output
    ops = dict(zip(EDGES, ["none", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3",
                           "nor_conv_1x1", "none"]))
    cell = tuple(ops[e] for e in EDGES)
    assert nb201.live_edges(cell) == (False, False, False, True, False, False)
    assert nb201.prune(cell) == ("none",) * 3 + ("nor_conv_3x3", "none", "none")
    assert nb201.canonical(cell) == nb201.canonical(nb201.prune(cell))
    # all paths cut: the output is zero, every edge is dead
    assert not any(nb201.live_edges(("nor_conv_3x3",) * 3 + ("none",) * 3))


def test_skip_is_the_identity_and_shared_terms_stay_apart():
    # conv on 3<-0  ==  skip on 1<-0 then conv on 3<-1
    a = ("none", "none", "none", "nor_conv_3x3", "none", "none")
    b = ("skip_connect", "none", "none", "none", "nor_conv_3x3", "none")
    assert nb201.canonical(a) == nb201.canonical(b) == a  # fewest live edges represents
    # one conv read twice (1<-0 conv, 2<-1 skip, 3<-1 skip, 3<-2 skip) vs two convs
    once = ("nor_conv_3x3", "none", "skip_connect", "none", "skip_connect", "skip_connect")
    twice = ("nor_conv_3x3", "nor_conv_3x3", "none", "none", "skip_connect", "skip_connect")
    assert nb201.cell_key(once) != nb201.cell_key(twice)
    assert nb201.nb201_key(once) == nb201.nb201_key(twice)  # the paper's string merges them


def test_unique_counts():
    # NAS-Bench-201's own rule gives the paper's 6,466 (and 1,236 without nor_conv_1x1)
    assert len({nb201.nb201_key(c) for c in nb201.enumerate_cells(OPS)}) == 6466
    assert len({nb201.nb201_key(c) for c in nb201.enumerate_cells(OPS_4)}) == 1236
    five, four = nb201.unique_cells(OPS), nb201.unique_cells(OPS_4)
    assert len(five) == 5425 and len(four) == 1011
    assert set(four) <= set(five)
    assert all(nb201.is_canonical(c) for c in four)


def test_canonical_is_a_class_invariant_on_the_whole_space():
    seen = {}
    for ops in itertools.islice(nb201.enumerate_cells(OPS_4), 0, None, 3):
        rep = nb201.canonical(ops)
        assert nb201.canonical(rep) == rep
        assert nb201.cell_key(rep) == nb201.cell_key(ops)
        assert set(rep) <= set(ops) | {"none"}
        seen.setdefault(nb201.cell_key(ops), rep)
        assert seen[nb201.cell_key(ops)] == rep
