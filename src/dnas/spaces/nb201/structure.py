"""How a NAS-Bench-201 cell is written (Dong & Yang, 2020, "NAS-Bench-201", section 2.1).

A cell is a DAG of four nodes: node 0 is the cell input, node ``i`` sums one edge from every
earlier node, node 3 is the cell output, so there are six edges ``i<-j`` (``j < i``). Each edge
applies one of five operations (``none``, ``skip_connect``, ``nor_conv_1x1``, ``nor_conv_3x3``,
``avg_pool_3x3``). Every cell of a network shares the same choice per edge, so an architecture is
six labelled choices::

    Architecture({"1<-0": "nor_conv_3x3", "2<-0": "skip_connect", ..., "3<-2": "avg_pool_3x3"})

and NAS-Bench-201 writes it as the string (nodes separated by ``+``, edges as ``op~source``)::

    |nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|skip_connect~2|
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dnas.arch.architecture import Architecture

#: The five operations of NAS-Bench-201, in the benchmark's order.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: The four-operation variant (no 1x1 convolution) of this package's first shipped table.
OPS_4: tuple[str, ...] = ("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")

NODES = 4
#: The six edges ``(target, source)`` in NAS-Bench-201's order (by target, then source).
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(1, NODES) for j in range(i))

_STRING = re.compile(r"^\|([^|~+]+~\d+\|)+(\+\|([^|~+]+~\d+\|)+)*$")


def edge_label(target: int, source: int) -> str:
    """Label of the edge from node ``source`` to ``target`` (``"2<-1"``), shared by all cells."""
    return f"{target}<-{source}"


LABELS: tuple[str, ...] = tuple(edge_label(i, j) for i, j in EDGES)


def check_ops(ops: Sequence[str], what: str = "ops") -> tuple[str, ...]:
    """``ops`` as a tuple if it is a non-empty, repetition-free subset of :data:`OPS`."""
    if isinstance(ops, str) or not isinstance(ops, Sequence) or not ops:
        raise ValueError(f"{what}={ops!r} must be a non-empty list drawn from {list(OPS)}")
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise ValueError(f"{what} has unknown operation(s) {unknown}; allowed: {list(OPS)}")
    if len(set(ops)) != len(ops):
        raise ValueError(f"{what}={list(ops)} repeats an operation")
    if all(o == "none" for o in ops):
        raise ValueError(f"{what} must contain an operation other than 'none'")
    return tuple(ops)


def to_ops(architecture: Mapping[str, Any] | str) -> tuple[str, ...]:
    """The six operations of an architecture, in :data:`EDGES` order.

    Accepts a :class:`dnas.Architecture` (or a mapping ``label -> op``), or a NAS-Bench-201
    string; raises ``ValueError`` naming what is wrong otherwise.
    """
    if isinstance(architecture, str):
        return from_string(architecture)
    if not isinstance(architecture, Mapping):
        raise TypeError(
            "architecture must be a dnas.Architecture, a mapping label -> operation or a "
            f"NAS-Bench-201 string, got {type(architecture).__name__}"
        )
    missing = [label for label in LABELS if label not in architecture]
    extra = sorted(set(architecture) - set(LABELS))
    if missing or extra:
        raise ValueError(
            f"not a NAS-Bench-201 architecture: missing labels {missing}, unexpected labels "
            f"{extra}; expected exactly {list(LABELS)}"
        )
    ops = []
    for label in LABELS:
        value = architecture[label]
        names = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (
            value,)
        if len(names) != 1 or names[0] not in OPS:
            raise ValueError(
                f"label {label!r} chooses {value!r}; a NAS-Bench-201 edge chooses exactly one of "
                f"{list(OPS)}"
            )
        ops.append(names[0])
    return tuple(ops)


def as_ops(architecture: Mapping[str, Any] | Sequence[str] | str) -> tuple[str, ...]:
    """The six operations of an architecture, a mapping, a string or six operation names (any
    other value raises, naming it)."""
    if isinstance(architecture, (str, Mapping)):
        return to_ops(architecture)
    if isinstance(architecture, (bytes, bytearray)) or not isinstance(architecture, Sequence):
        raise TypeError(
            f"architecture={architecture!r} must be a dnas.Architecture, a mapping label -> "
            "operation, a NAS-Bench-201 string or a sequence of 6 operation names"
        )
    ops = tuple(architecture)
    if len(ops) != len(EDGES) or any(not isinstance(o, str) or o not in OPS for o in ops):
        raise ValueError(f"expected {len(EDGES)} operations from {list(OPS)}, got {list(ops)}")
    return ops


def to_architecture(ops: Sequence[str] | str | Mapping[str, Any]) -> Architecture:
    """An :class:`dnas.Architecture` from six operations, a string or a mapping."""
    ops = as_ops(ops)
    return Architecture(dict(zip(LABELS, ops, strict=True)), meta={"space": "nb201"})


def to_string(architecture: Mapping[str, Any] | Sequence[str]) -> str:
    """The NAS-Bench-201 string of an architecture (or of six operations in :data:`EDGES` order)."""
    ops = as_ops(architecture)
    by_edge = dict(zip(EDGES, ops, strict=True))
    nodes = [
        "|" + "|".join(f"{by_edge[(i, j)]}~{j}" for j in range(i)) + "|" for i in range(1, NODES)
    ]
    return "+".join(nodes)


def from_string(text: str) -> tuple[str, ...]:
    """The six operations of a NAS-Bench-201 string, in :data:`EDGES` order."""
    if not isinstance(text, str) or not _STRING.match(text.strip()):
        raise ValueError(
            f"{text!r} is not a NAS-Bench-201 architecture string such as "
            "'|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|'"
        )
    nodes = text.strip().split("+")
    if len(nodes) != NODES - 1:
        raise ValueError(f"{text!r} has {len(nodes)} nodes; a NAS-Bench-201 cell has {NODES - 1}")
    ops: list[str] = []
    for i, node in enumerate(nodes, start=1):
        edges = [e for e in node.split("|") if e]
        sources = [int(e.rpartition("~")[2]) for e in edges]
        if sources != list(range(i)):
            raise ValueError(
                f"{text!r}: node {i} must list its inputs 0..{i - 1} in order, got {sources}"
            )
        for e in edges:
            op = e.rpartition("~")[0]
            if op not in OPS:
                raise ValueError(f"{text!r}: unknown operation {op!r}; allowed: {list(OPS)}")
            ops.append(op)
    return tuple(ops)


def enumerate_cells(ops: Sequence[str] = OPS) -> Iterable[tuple[str, ...]]:
    """Every cell of the space with operations ``ops``: ``len(ops) ** 6`` tuples in EDGES order."""
    import itertools

    return itertools.product(check_ops(ops), repeat=len(EDGES))


__all__ = [
    "EDGES",
    "LABELS",
    "NODES",
    "OPS",
    "OPS_4",
    "as_ops",
    "check_ops",
    "edge_label",
    "enumerate_cells",
    "from_string",
    "to_architecture",
    "to_ops",
    "to_string",
]
