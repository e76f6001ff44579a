"""How a DARTS cell is written as a :class:`dnas.Architecture` (Liu et al., 2019, section 2.1).

A cell has two inputs (states 0 and 1, the outputs of the two previous cells) and ``steps``
intermediate nodes (states 2 .. steps+1); node ``k`` reads every earlier state ``j < k`` through
one edge. The search network has one :class:`~dnas.LayerChoice` per edge, labelled::

    <cell>/edge_<k>_<j>        cell in {"normal", "reduce"}, e.g. "normal/edge_3_1"

and, with edge normalisation (PC-DARTS), one :class:`~dnas.InputChoice` per node,
``<cell>/node_<k>``. Every cell of a type shares those labels. A discrete architecture chooses
one operation per edge, ``"none"`` for the edges a node does not read, so the official genotype
``[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ...]`` becomes
``{"normal/edge_2_0": "sep_conv_3x3", "normal/edge_2_1": "sep_conv_3x3", ...}``; the states that
are concatenated into the cell output are ``meta["normal_concat"]`` / ``meta["reduce_concat"]``
(default: every intermediate node).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dnas.arch.architecture import Architecture
from dnas.ops.registry import op_names
from dnas.runtime.checks import check_int

#: The eight candidate operations of the DARTS CNN space, in the order of the paper's code.
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

CELL_TYPES = ("normal", "reduce")

_EDGE = re.compile(r"^(normal|reduce)/edge_(\d+)_(\d+)$")
_NODE = re.compile(r"^(normal|reduce)/node_(\d+)$")


def edge_label(cell: str, node: int, source: int) -> str:
    """Label of the edge from state ``source`` to node ``node`` in cells of type ``cell``."""
    return f"{cell}/edge_{node}_{source}"


def node_label(cell: str, node: int) -> str:
    """Label of the input choice of node ``node`` (edge normalisation) in cells of type ``cell``."""
    return f"{cell}/node_{node}"


def positive_int(name: str, value: object, low: int = 1) -> int:
    """``value`` if it is an integer >= ``low`` (:func:`dnas.runtime.checks.check_int`)."""
    return int(check_int(name, value, low))


@dataclass(frozen=True)
class CellSpec:
    """A discrete cell: for each intermediate node, its ``(source state, operation)`` pairs.

    Attributes
    ----------
    nodes : tuple of tuple of (int, str)
        ``nodes[i]`` are the incoming edges of state ``i + 2``, sorted by source.
    concat : tuple of int
        The states concatenated into the cell output.
    """

    nodes: tuple[tuple[tuple[int, str], ...], ...]
    concat: tuple[int, ...]

    @property
    def steps(self) -> int:
        return len(self.nodes)


def _concat(meta: Mapping[str, Any], cell: str, steps: int) -> tuple[int, ...]:
    key = f"{cell}_concat"
    if key not in meta:
        return tuple(range(2, steps + 2))
    value = meta[key]
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(i, int) and not isinstance(i, bool) for i in value)
    )
    if not ok:
        raise ValueError(f"meta[{key!r}]={value!r} must be a non-empty list of state indices")
    if len(set(value)) != len(value) or not all(0 <= i < steps + 2 for i in value):
        raise ValueError(
            f"meta[{key!r}]={list(value)} must hold distinct state indices in [0, {steps + 1}] "
            f"(the {cell} cell has {steps} intermediate nodes)"
        )
    return tuple(value)


def parse_architecture(
    architecture: Architecture, primitives: Sequence[str] | None = None
) -> dict[str, CellSpec]:
    """Read the cells out of ``architecture``; ``ValueError`` naming the first problem.

    Parameters
    ----------
    architecture : Architecture
        Edge (and optional node) labels as described in the module docstring.
    primitives : sequence of str, optional
        Allowed operation names (default: every registered operation).

    Returns
    -------
    dict
        ``{"normal": CellSpec, "reduce": CellSpec}`` for the cell types present.
    """
    if not isinstance(architecture, Architecture):
        raise TypeError(
            f"architecture must be a dnas.Architecture, got {type(architecture).__name__}"
        )
    allowed = list(primitives) if primitives is not None else op_names()
    edges: dict[str, dict[tuple[int, int], str]] = {}
    nodes: dict[str, dict[int, tuple[str, ...]]] = {}
    for label, chosen in architecture.items():
        m = _EDGE.match(label)
        if m:
            cell, k, j = m.group(1), int(m.group(2)), int(m.group(3))
            if len(chosen) != 1:
                raise ValueError(
                    f"label {label!r} must choose exactly one operation, got {list(chosen)}"
                )
            if chosen[0] not in allowed:
                raise ValueError(
                    f"label {label!r} chooses unknown operation {chosen[0]!r}; allowed: {allowed}"
                )
            if not 0 <= j < k or k < 2:
                raise ValueError(
                    f"label {label!r} is not an edge of a DARTS cell: node <k> must be >= 2 and "
                    f"the source state < k"
                )
            edges.setdefault(cell, {})[(k, j)] = chosen[0]
            continue
        m = _NODE.match(label)
        if m:
            nodes.setdefault(m.group(1), {})[int(m.group(2))] = tuple(str(c) for c in chosen)
            continue
        raise ValueError(
            f"label {label!r} is not a DARTS cell label; expected '<cell>/edge_<node>_<input>' or "
            f"'<cell>/node_<node>' with <cell> in {list(CELL_TYPES)}"
        )
    if not edges:
        raise ValueError(
            "architecture has no DARTS cell edges ('normal/edge_2_0', ...); "
            f"its labels are {sorted(architecture)[:6]}"
        )
    for cell in nodes:
        if cell not in edges:
            raise ValueError(f"architecture has {cell!r} node labels but no {cell!r} edges")
    cells: dict[str, CellSpec] = {}
    for cell in CELL_TYPES:
        if cell not in edges:
            continue
        cell_edges = edges[cell]
        steps = max(k for k, _ in cell_edges) - 1
        spec_nodes = []
        for k in range(2, steps + 2):
            missing = [edge_label(cell, k, j) for j in range(k) if (k, j) not in cell_edges]
            if missing:
                raise ValueError(
                    f"architecture misses label(s) {missing}: every edge of a {steps}-node cell "
                    "needs a choice ('none' for an edge the node does not read)"
                )
            incoming = tuple((j, cell_edges[k, j]) for j in range(k) if cell_edges[k, j] != "none")
            if not incoming:
                raise ValueError(
                    f"node {k} of the {cell} cell has no input: every edge "
                    f"{edge_label(cell, k, 0)} .. {edge_label(cell, k, k - 1)} chooses 'none'"
                )
            if k in nodes.get(cell, {}):
                chosen = nodes[cell][k]
                picked = {int(n) if n.isdigit() else n for n in chosen}
                if picked != {j for j, _ in incoming}:
                    raise ValueError(
                        f"label {node_label(cell, k)!r} chooses inputs {list(chosen)} but the "
                        f"edges that are not 'none' come from {[j for j, _ in incoming]}"
                    )
            spec_nodes.append(incoming)
        extra = sorted(k for k in nodes.get(cell, {}) if not 2 <= k < steps + 2)
        if extra:
            raise ValueError(
                f"label(s) {[node_label(cell, k) for k in extra]} name nodes the {cell} cell "
                f"does not have (its nodes are 2 .. {steps + 1})"
            )
        cells[cell] = CellSpec(tuple(spec_nodes), _concat(architecture.meta, cell, steps))
    return cells


def validate_architecture(
    architecture: Architecture, primitives: Sequence[str] | None = None
) -> None:
    """Raise ``ValueError`` (naming the label or operation) unless ``architecture`` is a DARTS cell
    architecture; see :func:`parse_architecture` for the rules."""
    parse_architecture(architecture, primitives)


def from_genotype(
    normal: Sequence[tuple[str, int]],
    reduce: Sequence[tuple[str, int]],
    normal_concat: Sequence[int] | None = None,
    reduce_concat: Sequence[int] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Architecture:
    """An :class:`~dnas.Architecture` from a genotype written as in the DARTS paper's code.

    Parameters
    ----------
    normal, reduce : sequence of (operation, source state)
        Two pairs per intermediate node, node by node (state 2 first).
    normal_concat, reduce_concat : sequence of int, optional
        States concatenated into the output (default: every intermediate node).
    meta : mapping, optional
        Extra metadata (e.g. the genotype's name).
    """
    choices: dict[str, str] = {}
    info = dict(meta or {})
    cells = (("normal", normal, normal_concat), ("reduce", reduce, reduce_concat))
    for cell, given, concat in cells:
        pairs: list[tuple[Any, ...]] = [tuple(p) for p in given]
        if not pairs or len(pairs) % 2:
            raise ValueError(
                f"{cell}: a genotype has two (operation, input) pairs per node, got {pairs}"
            )
        steps = len(pairs) // 2
        for i in range(steps):
            k = i + 2
            picked: dict[int, str] = {}
            for op, j in pairs[2 * i : 2 * i + 2]:
                if not isinstance(j, int) or not 0 <= j < k:
                    raise ValueError(
                        f"{cell}: node {k} reads state {j!r}, which is not in [0, {k - 1}]"
                    )
                if j in picked:
                    raise ValueError(f"{cell}: node {k} reads state {j} twice; DARTS cells cannot")
                picked[j] = op
            for j in range(k):
                choices[edge_label(cell, k, j)] = picked.get(j, "none")
        info[f"{cell}_concat"] = list(concat) if concat is not None else list(range(2, steps + 2))
    info.setdefault("space", "darts")
    arch = Architecture(choices, meta=info)
    validate_architecture(arch)
    return arch


def to_genotype(architecture: Architecture) -> dict[str, list]:
    """The official-style genotype of ``architecture``: ``{"normal": [(op, input), ...],
    "normal_concat": [...], "reduce": ..., "reduce_concat": ...}`` (cell types present only)."""
    out: dict[str, list] = {}
    for cell, spec in parse_architecture(architecture).items():
        out[cell] = [(op, j) for incoming in spec.nodes for j, op in incoming]
        out[f"{cell}_concat"] = list(spec.concat)
    return out



def is_reduction(i: int, layers: int) -> bool:
    """Whether cell ``i`` of ``layers`` is a reduction cell (at 1/3 and 2/3 of the depth)."""
    return i in (layers // 3, 2 * layers // 3)


__all__ = [
    "CELL_TYPES",
    "PRIMITIVES",
    "CellSpec",
    "edge_label",
    "from_genotype",
    "is_reduction",
    "node_label",
    "parse_architecture",
    "to_genotype",
    "validate_architecture",
]
