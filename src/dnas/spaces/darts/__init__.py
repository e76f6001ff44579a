"""The DARTS cell search space (Liu et al., 2019): search network, export rule, retraining
network, published genotypes and cell diagrams, for images (``dim=2``) and sequences (``dim=1``).

Examples
--------
>>> import dnas
>>> from dnas.spaces import darts
>>> net = darts.search_network(C=16, layers=8, num_classes=10)
>>> result = dnas.search(net, train, valid, method="darts", order=2)      # doctest: +SKIP
>>> model = darts.eval_network(result.architecture, C=36, layers=20)     # doctest: +SKIP
"""

from dnas.spaces.darts.derive import derive_cells
from dnas.spaces.darts.draw import draw_cell, to_dot
from dnas.spaces.darts.eval import AuxiliaryHead, EvalCell, EvalNetwork, drop_path, eval_network
from dnas.spaces.darts.genotypes import GENOTYPES, genotype
from dnas.spaces.darts.random import random_architecture
from dnas.spaces.darts.search import SearchCell, SearchNetwork, mixed_op, search_network
from dnas.spaces.darts.structure import (
    CELL_TYPES,
    PRIMITIVES,
    CellSpec,
    edge_label,
    from_genotype,
    node_label,
    parse_architecture,
    to_genotype,
    validate_architecture,
)

__all__ = [
    "CELL_TYPES",
    "GENOTYPES",
    "PRIMITIVES",
    "AuxiliaryHead",
    "CellSpec",
    "EvalCell",
    "EvalNetwork",
    "SearchCell",
    "SearchNetwork",
    "derive_cells",
    "draw_cell",
    "drop_path",
    "edge_label",
    "eval_network",
    "from_genotype",
    "genotype",
    "mixed_op",
    "node_label",
    "parse_architecture",
    "random_architecture",
    "search_network",
    "to_dot",
    "to_genotype",
    "validate_architecture",
]
