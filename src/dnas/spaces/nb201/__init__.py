"""The NAS-Bench-201 cell space (Dong & Yang, 2020), for images (``dim=2``) and sequences
(``dim=1``): a supernet, fixed networks, the benchmark's string format, dead edges and canonical
forms (so equivalent cells share one table row), and its export rule.

Examples
--------
>>> import dnas
>>> from dnas.spaces import nb201
>>> net = nb201.search_network(C=16, N=5, num_classes=10, dim=2)
>>> arch = nb201.to_architecture("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
...                              "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
>>> model = nb201.fixed_network(arch, C=16, N=5, seed=0)
"""

from dnas.spaces.nb201.equivalence import (
    canonical,
    cell_key,
    is_canonical,
    live_edges,
    nb201_key,
    prune,
    unique_cells,
)
from dnas.spaces.nb201.export import derive
from dnas.spaces.nb201.network import (
    Cell,
    Network,
    ResidualReduction,
    SearchNetwork,
    create_op,
    fixed_network,
    search_network,
)
from dnas.spaces.nb201.structure import (
    EDGES,
    LABELS,
    NODES,
    OPS,
    OPS_4,
    check_ops,
    edge_label,
    enumerate_cells,
    from_string,
    to_architecture,
    to_ops,
    to_string,
)

__all__ = [
    "EDGES",
    "LABELS",
    "NODES",
    "OPS",
    "OPS_4",
    "Cell",
    "Network",
    "ResidualReduction",
    "SearchNetwork",
    "canonical",
    "cell_key",
    "check_ops",
    "create_op",
    "derive",
    "edge_label",
    "enumerate_cells",
    "fixed_network",
    "from_string",
    "is_canonical",
    "live_edges",
    "nb201_key",
    "prune",
    "search_network",
    "to_architecture",
    "to_ops",
    "to_string",
    "unique_cells",
]
