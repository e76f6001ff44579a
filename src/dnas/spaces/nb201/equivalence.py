"""Dead edges and the canonical form of a NAS-Bench-201 cell, so equivalent cells share one row.

Two cells compute the same function (same parameters, same graph up to the order of sums) when
they differ only in

* **dead edges**: an edge is live when it is not ``none``, its source carries a signal (node 0,
  or a node with a live incoming edge) and its target reaches the output; a fixed network does
  not build the others, so they cannot change anything;
* **isomorphism**: when there is no edge ``2<-1``, nodes 1 and 2 are interchangeable;
* **identity edges**: ``skip_connect`` is the identity inside a cell, so a node read through a
  skip edge adds its own terms to the reader's sum.

:func:`cell_key` writes the pruned cell as (the multiset of parametric terms ``op(input)`` that
the output sums, with skip edges contracted; the multiset of parametric edges the cell builds).
The second part keeps apart a term computed once and read twice from two equal terms computed by
two edges (different parameters). :func:`canonical` returns one representative per key: the
member with the fewest live edges, then the smallest NAS-Bench-201 string.

The NAS-Bench-201 paper counts 6,466 unique cells of 15,625 with a coarser-grained string
(:func:`nb201_key`: ``skip`` the identity, ``none`` a zero *term* that stays in the sum, no dead
edge pruning and no notion of shared terms); it keeps some equivalent cells apart (a dead edge
changes the string) and merges some different ones (one conv read twice vs two convs). Our key
gives 5,425 unique cells of 15,625, and 1,011 of the 4,096 cells without ``nor_conv_1x1``
(the paper's rule: 1,236).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from dnas.spaces.nb201.structure import (
    EDGES,
    NODES,
    OPS,
    as_ops,
    check_ops,
    enumerate_cells,
    to_string,
)

_OUT = NODES - 1
Key = tuple[tuple[str, ...], tuple[str, ...]]


def _ops(architecture: Mapping[str, Any] | Sequence[str] | str) -> tuple[str, ...]:
    return as_ops(architecture)


def live_edges(architecture: Mapping[str, Any] | Sequence[str] | str) -> tuple[bool, ...]:
    """For each edge of :data:`EDGES`, whether it can change the cell's output."""
    ops = dict(zip(EDGES, _ops(architecture), strict=True))
    carries = [True] + [False] * (NODES - 1)  # node has a signal from the cell input
    for i in range(1, NODES):
        carries[i] = any(ops[(i, j)] != "none" and carries[j] for j in range(i))
    reaches = [False] * (NODES - 1) + [True]  # node's value reaches the output
    for j in range(NODES - 2, -1, -1):
        reaches[j] = any(ops[(i, j)] != "none" and reaches[i] for i in range(j + 1, NODES))
    return tuple(ops[(i, j)] != "none" and carries[j] and reaches[i] for i, j in EDGES)


def prune(architecture: Mapping[str, Any] | Sequence[str] | str) -> tuple[str, ...]:
    """The six operations with every dead edge set to ``none``."""
    ops = _ops(architecture)
    return tuple(o if live else "none" for o, live in zip(ops, live_edges(ops), strict=True))


def cell_key(architecture: Mapping[str, Any] | Sequence[str] | str) -> Key:
    """An invariant equal for equivalent cells: (output terms, parametric edges), both sorted.

    A cell whose output is always zero has the key ``((), ())``.
    """
    ops = dict(zip(EDGES, prune(architecture), strict=True))
    value: list[tuple[str, ...]] = [("x",)] + [()] * (NODES - 1)
    built: list[str] = []
    for i in range(1, NODES):
        terms: list[str] = []
        for j in range(i):
            op = ops[(i, j)]
            if op == "none" or not value[j]:
                continue
            if op == "skip_connect":
                terms.extend(value[j])
            else:
                term = f"{op}({'+'.join(value[j])})"
                terms.append(term)
                built.append(term)
        value[i] = tuple(sorted(terms))
    return value[_OUT], tuple(sorted(built))


def nb201_key(architecture: Mapping[str, Any] | Sequence[str] | str) -> str:
    """The NAS-Bench-201 paper's uniqueness string (6,466 classes of 15,625), for comparison.

    ``skip_connect`` passes its input's string on, ``none`` (or a zero input) gives the zero term
    ``#`` which stays in the sum, every other operation wraps its input as ``(input)@op``; a
    node is its terms, sorted and joined by ``+``.
    """
    ops = dict(zip(EDGES, _ops(architecture), strict=True))
    node = ["0"] + [""] * (NODES - 1)
    for i in range(1, NODES):
        terms = []
        for j in range(i):
            op = ops[(i, j)]
            if op == "none" or node[j] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(node[j])
            else:
                terms.append(f"({node[j]})@{op}")
        node[i] = "+".join(sorted(terms))
    return node[_OUT]


def _preference(ops: tuple[str, ...]) -> tuple[int, str]:
    return sum(o != "none" for o in ops), to_string(ops)


@functools.lru_cache(maxsize=1)
def _representatives() -> dict[Key, tuple[str, ...]]:
    # one pass over all 15,625 cells (~0.3 s), the first time a canonical form is asked for
    best: dict[Key, tuple[str, ...]] = {}
    for cell in enumerate_cells(OPS):
        ops = prune(cell)
        key = cell_key(ops)
        if key not in best or _preference(ops) < _preference(best[key]):
            best[key] = ops
    return best


def canonical(architecture: Mapping[str, Any] | Sequence[str] | str) -> tuple[str, ...]:
    """The representative of the cell's class (six operations in EDGES order).

    It uses only operations the cell uses, has no dead edges, and is the member with the fewest
    live edges (then the smallest NAS-Bench-201 string).
    """
    return _representatives()[cell_key(architecture)]


def is_canonical(architecture: Mapping[str, Any] | Sequence[str] | str) -> bool:
    """Whether the architecture is its class's representative."""
    ops = _ops(architecture)
    return canonical(ops) == ops


def unique_cells(ops: Sequence[str] = OPS) -> list[tuple[str, ...]]:
    """The representative of every class of the space with operations ``ops``, sorted by string."""
    allowed = set(check_ops(ops))
    found = {r for r in _representatives().values() if set(r) <= allowed | {"none"}}
    return sorted(found, key=to_string)


__all__ = ["canonical", "cell_key", "is_canonical", "live_edges", "nb201_key", "prune",
           "unique_cells"]
