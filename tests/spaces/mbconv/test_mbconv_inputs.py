"""Hostile input to the MBConv space: one clear error naming the parameter and the value."""

import numpy as np
import pytest

import dnas
from dnas.spaces import mbconv

SMALL = [{"widths": [4], "depths": [1], "stride": 2}]


@pytest.mark.parametrize("stages,match", [
    ("x", r"stages='x' must be a list"),
    ([5], r"stage 5 must be a StageSpec or a mapping"),
    ([((8,), (1,), 2)], r"stage \(\(8,\), \(1,\), 2\) must be a StageSpec or a mapping"),
    ([{"width": [8]}], r"unknown stage option\(s\) \['width'\]"),
])
def test_malformed_stages(stages, match):
    with pytest.raises(ValueError, match=match):
        mbconv.search_network(stages=stages)


def test_malformed_space_in_an_architecture():
    for meta, match in [({"stages": 5}, r"stages=5 must be a list"),
                        ({"stages": [5]}, r"stage 5 must be"),
                        ({"kernel_sizes": 5}, r"kernel_sizes=5 must be a non-empty list")]:
        arch = dnas.Architecture({"a": ["b"]}, meta={"mbconv": meta})
        with pytest.raises(ValueError, match=match):
            mbconv.eval_network(arch)


def test_dim_must_be_an_integer():
    with pytest.raises(TypeError, match=r"dim=2.0 must be an integer"):
        mbconv.search_network(dim=2.0, stages=SMALL)


def test_numpy_integers_are_accepted():
    net = mbconv.search_network(num_classes=np.int64(3), stem=np.int64(4), stages=SMALL)
    assert net.spec.stem == 4 and type(net.spec.num_classes) is int
    arch = mbconv.random_architecture(net, np.int64(3))
    assert arch.meta["seed"] == 3 and arch == mbconv.random_architecture(net, 3)


@pytest.mark.parametrize("seed", ["a", 1.5, True])
def test_eval_network_seed(seed):
    net = mbconv.search_network(stages=SMALL)
    with pytest.raises(TypeError, match=rf"seed={seed!r} must be an integer or None"):
        mbconv.eval_network(mbconv.largest_architecture(net), seed=seed)


def test_random_architecture_needs_the_network():
    with pytest.raises(TypeError, match=r"network must be an MBConvNetwork .* got str"):
        mbconv.random_architecture("net", 0)
