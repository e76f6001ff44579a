"""The dimension-generic layer helpers: the input-shape check of the built-in networks."""

import pytest
import torch

from dnas.ops.layers import check_input
from dnas.spaces import darts, nb201

# a trace that guessed at a Python branch would warn: the check must not be recorded
pytestmark = pytest.mark.filterwarnings("error::torch.jit.TracerWarning")


@pytest.mark.parametrize("shape,dim", [((2, 3, 8), 2), ((2, 4, 8, 8), 2), ((2, 3, 8, 8), 1)])
def test_an_input_the_network_cannot_read_is_named(shape, dim):
    with pytest.raises(ValueError, match=r"input of shape \(2, .*\) does not fit this "
                                         rf"dim={dim} network: expected \(B, C, .*\) with C=3"):
        check_input(torch.zeros(shape), dim, 3)
    check_input(torch.zeros(2, 3, *([8] * dim)), dim, 3)


@pytest.mark.parametrize("build", [
    lambda: darts.eval_network(darts.genotype("DARTS_V2"), C=2, layers=3, num_classes=2,
                               auxiliary=False, dim=1, in_channels=3),
    lambda: nb201.fixed_network(["nor_conv_3x3"] * 6, C=2, N=1, num_classes=2, dim=1,
                                in_channels=3),
])
def test_built_in_networks_check_their_input_but_not_when_traced(build):
    net = build().eval()
    with pytest.raises(ValueError, match=r"input of shape \(2, 4, 8\) does not fit this dim=1"):
        net(torch.zeros(2, 4, 8))
    traced = torch.jit.trace(net, torch.zeros(1, 3, 8), check_trace=False)
    assert traced(torch.zeros(2, 3, 8)).shape == (2, 2)


def test_the_search_network_checks_its_input():
    net = darts.search_network(C=2, layers=3, num_classes=2, dim=1, in_channels=3)
    with pytest.raises(ValueError, match=r"input of shape \(2, 4, 8\) does not fit this dim=1"):
        net(torch.zeros(2, 4, 8))
