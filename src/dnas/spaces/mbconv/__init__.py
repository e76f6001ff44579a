"""The MBConv space (MobileNetV2 / ProxylessNAS-style inverted residual stages), 1-D and 2-D.

Per stage a width and a depth choice, per block a kernel size {3, 5, 7}, an expansion ratio {3, 6}
and (after a stage's first block) whether to skip it; every size shared across values inside
:mod:`dnas.nn` layers, so a search can trade accuracy against a parameter, FLOP or latency budget.

Examples
--------
>>> import dnas
>>> from dnas.spaces import mbconv
>>> net = mbconv.search_network(num_classes=10, in_channels=1, dim=1)
>>> result = dnas.search(net, train, valid, cost="params", budget=200_000)   # doctest: +SKIP
>>> model = mbconv.eval_network(result.architecture)                         # doctest: +SKIP
"""

from dnas.spaces.mbconv.network import (
    MBConvNetwork,
    architecture_meta,
    eval_network,
    search_network,
    space_of,
)
from dnas.spaces.mbconv.random import largest_architecture, random_architecture
from dnas.spaces.mbconv.structure import (
    DEFAULT_STAGES,
    SpaceSpec,
    StageSpec,
    block_label,
    depth_label,
    width_label,
)

__all__ = [
    "DEFAULT_STAGES",
    "MBConvNetwork",
    "SpaceSpec",
    "StageSpec",
    "architecture_meta",
    "block_label",
    "depth_label",
    "eval_network",
    "largest_architecture",
    "random_architecture",
    "search_network",
    "space_of",
    "width_label",
]
