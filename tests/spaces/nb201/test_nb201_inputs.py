"""Hostile input to the NAS-Bench-201 helpers: one clear error naming the value."""

import numpy as np
import pytest

from dnas.spaces import nb201

CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"


@pytest.mark.parametrize("fn", [nb201.canonical, nb201.to_string, nb201.cell_key,
                                nb201.to_architecture])
@pytest.mark.parametrize("value", [None, 5, b"|none~0|"])
def test_not_an_architecture(fn, value):
    with pytest.raises(TypeError, match=rf"architecture={value!r} must be a dnas.Architecture"):
        fn(value)


def test_fixed_network_of_not_an_architecture():
    with pytest.raises(TypeError, match=r"architecture=None must be"):
        nb201.fixed_network(None, C=4, N=1)


@pytest.mark.parametrize("value", [5, None])
def test_mapping_with_a_non_name(value):
    with pytest.raises(ValueError, match=rf"label '1<-0' chooses {value!r}; a NAS-Bench-201 edge"):
        nb201.to_string(dict.fromkeys(nb201.LABELS, value))


@pytest.mark.parametrize("digits,match", [(-1, r"digits=-1 must be an integer >= 0"),
                                          ("a", r"digits='a' must be an integer >= 0")])
def test_derive_digits(digits, match):
    net = nb201.search_network(C=4, N=1, num_classes=2)
    with pytest.raises(ValueError, match=match):
        nb201.derive(net, digits=digits)


def test_numpy_sizes_are_accepted():
    net = nb201.fixed_network(CELL, C=np.int64(4), N=np.int64(1), num_classes=np.int64(2))
    assert sum(p.numel() for p in net.parameters()) > 0
