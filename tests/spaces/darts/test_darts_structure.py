"""Writing DARTS cells as Architectures: validation messages, genotype conversion, the zoo."""

import pytest

import dnas
from dnas.spaces.darts import (
    GENOTYPES,
    from_genotype,
    genotype,
    to_genotype,
    validate_architecture,
)


def _v2(**changes):
    choices = dict(genotype("DARTS_V2").items())
    meta = dict(genotype("DARTS_V2").meta)
    meta.update(changes.pop("meta", {}))
    for label, value in changes.items():
        if value is None:
            del choices[label.replace("__", "/")]
        else:
            choices[label.replace("__", "/")] = value
    return dnas.Architecture(choices, meta=meta)


def test_darts_v2_as_labels():
    arch = genotype("DARTS_V2")
    assert len(arch) == 28
    assert arch["normal/edge_2_0"] == ("sep_conv_3x3",)
    assert arch["normal/edge_5_2"] == ("dil_conv_3x3",)
    assert arch["normal/edge_5_1"] == ("none",)
    assert arch["reduce/edge_3_2"] == ("skip_connect",)
    assert arch.meta["normal_concat"] == [2, 3, 4, 5] and arch.meta["genotype"] == "DARTS_V2"


@pytest.mark.parametrize("name", GENOTYPES)
def test_zoo_entries_are_valid_and_convert_both_ways(name):
    arch = genotype(name)
    validate_architecture(arch)
    g = to_genotype(arch)
    assert len(g["normal"]) == len(g["reduce"]) == 8
    assert from_genotype(**g) == arch
    assert dnas.Architecture.from_json(arch.to_json()) == arch


def test_darts_alias_and_unknown_names():
    assert genotype("DARTS") == genotype("DARTS_V2")
    with pytest.raises(ValueError, match=r"unknown genotype 'ENAS'.*DARTS_V2"):
        genotype("ENAS")


def test_genotype_order_within_a_node_does_not_matter():
    a = from_genotype([("sep_conv_3x3", 1), ("skip_connect", 0)] * 4,
                      [("max_pool_3x3", 0), ("max_pool_3x3", 1)] * 4)
    b = from_genotype([("skip_connect", 0), ("sep_conv_3x3", 1)] * 4,
                      [("max_pool_3x3", 1), ("max_pool_3x3", 0)] * 4)
    assert a == b


@pytest.mark.parametrize(
    "arch,match",
    [
        (dict(normal__edge_2_0="conv_9x9"), r"'normal/edge_2_0' chooses unknown operation"),
        (dict(normal__edge_3_1=None), r"misses label\(s\) \['normal/edge_3_1'\]"),
        (dict(normal__edge_2_0="none", normal__edge_2_1="none"), "node 2 of the normal cell"),
        (dict(normal__edge_2_0=["skip_connect", "sep_conv_3x3"]), "exactly one operation"),
        (dict(conv1="sep_conv_3x3"), "'conv1' is not a DARTS cell label"),
        (dict(normal__edge_3_4="skip_connect"), "'normal/edge_3_4' is not an edge"),
        (dict(normal__node_5=["0", "1"]), r"'normal/node_5' chooses inputs.*come from \[0, 2\]"),
        (dict(normal__node_9=["0", "1"]), "name nodes the normal cell does not have"),
        (dict(meta={"normal_concat": [2, 9]}), r"normal_concat.*\[0, 5\]"),
        (dict(meta={"reduce_concat": "2345"}), "reduce_concat"),
    ],
)
def test_validation_names_the_problem(arch, match):
    with pytest.raises(ValueError, match=match):
        validate_architecture(_v2(**arch))


def test_consistent_node_labels_are_accepted():
    # DARTS_V2 node 3 of the normal cell reads states 0 and 1
    validate_architecture(_v2(normal__node_3=["0", "1"], normal__node_2=["0", "1"]))
    with pytest.raises(ValueError, match=r"'normal/node_4' chooses inputs \['0', '2'\]"):
        validate_architecture(_v2(normal__node_4=["0", "2"]))


def test_validation_against_a_primitive_list():
    with pytest.raises(ValueError, match="dil_conv_3x3"):
        validate_architecture(genotype("DARTS_V2"),
                              primitives=("none", "skip_connect", "sep_conv_3x3", "max_pool_3x3"))


def test_unrelated_architectures_are_rejected():
    with pytest.raises(ValueError, match="is not a DARTS cell label"):
        validate_architecture(dnas.Architecture({"op": "conv"}))
    with pytest.raises(TypeError, match="dnas.Architecture"):
        validate_architecture({"normal/edge_2_0": "skip_connect"})


@pytest.mark.parametrize(
    "normal,match",
    [
        ([("skip_connect", 0)] * 3, "two"),
        ([("skip_connect", 0), ("skip_connect", 2)] * 4, "reads state 2, which is not in"),
        ([("skip_connect", 1), ("sep_conv_3x3", 1)] * 4, "reads state 1 twice"),
    ],
)
def test_from_genotype_errors(normal, match):
    with pytest.raises(ValueError, match=match):
        from_genotype(normal, [("max_pool_3x3", 0), ("max_pool_3x3", 1)] * 4)
