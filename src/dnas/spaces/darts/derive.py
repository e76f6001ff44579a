"""DARTS' export rule for a cell (Liu et al., 2019, section 2.4).

For node ``k`` the strength of edge ``(k, j)`` is the largest probability its α gives to an
operation other than ``none``; the two strongest edges are kept, each with that strongest
operation. With PC-DARTS edge normalisation (Xu et al., 2020, section 3.3) the operation
probabilities of edge ``(k, j)`` are first multiplied by the node's edge weight
``softmax(β^k)_j``. Ties keep the lower input index (the order of a stable sort), and among
equally strong operations the first in candidate order.

Probabilities come from each label's relaxation (softmax for DARTS), so the rule also exports
searches run with other methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dnas.arch.architecture import Architecture
from dnas.space.binding import bind
from dnas.spaces.darts.structure import CELL_TYPES, edge_label, node_label

if TYPE_CHECKING:
    from dnas.spaces.darts.search import SearchNetwork

#: How many incoming edges a node keeps.
EDGES_PER_NODE = 2


def _strongest(probs: list[float], names: tuple[str, ...]) -> tuple[float, str]:
    """The best operation other than ``none`` (the first of equals) and its probability."""
    best = None
    for p, name in zip(probs, names):
        if name == "none" and len(names) > 1:
            continue
        if best is None or p > best[0]:
            best = (p, name)
    assert best is not None  # primitives always hold an operation other than 'none'
    return best


def derive_cells(network: SearchNetwork, digits: int = 6) -> Architecture:
    """Apply the DARTS export rule to every cell type of ``network``.

    Returns
    -------
    Architecture
        ``<cell>/edge_<k>_<j>`` -> the kept operation, or ``"none"`` for a dropped edge;
        ``<cell>/node_<k>`` -> the two kept inputs (with edge normalisation). ``meta`` holds the
        concatenated states (``normal_concat``, ``reduce_concat``), every label's probabilities
        and relaxation name, and ``space="darts"``.
    """
    groups = bind(network)
    steps = network.steps
    present = {cell.cell_type for cell in network.cells}
    choices: dict[str, str | list[str]] = {}
    meta: dict = {"space": "darts"}
    concat = list(range(2 + steps - network.multiplier, steps + 2))
    for cell in CELL_TYPES:
        if cell not in present:
            continue
        for k in range(2, steps + 2):
            node = groups.get(node_label(cell, k))
            beta = node.probabilities().tolist() if node is not None else [1.0] * k
            ranked = []
            for j in range(k):
                g = groups[edge_label(cell, k, j)]
                probs = [p * beta[j] for p in g.probabilities().tolist()]
                ranked.append((*_strongest(probs, g.names), j))
            # sorted() is stable: equal strengths keep the lower input first, as DARTS does
            kept = sorted(ranked, key=lambda r: -r[0])[:EDGES_PER_NODE]
            kept_ops = {j: name for _, name, j in kept}
            for j in range(k):
                choices[edge_label(cell, k, j)] = kept_ops.get(j, "none")
            if node is not None:
                choices[node_label(cell, k)] = [str(j) for j in sorted(kept_ops)]
        meta[f"{cell}_concat"] = concat
    meta["probabilities"] = {
        label: [round(float(p), digits) for p in g.probabilities().tolist()]
        for label, g in groups.items()
    }
    meta["methods"] = {label: g.relaxation.name for label, g in groups.items()}
    return Architecture(choices, meta=meta)


__all__ = ["EDGES_PER_NODE", "derive_cells"]
