"""The one walk over an expression graph, shared by every reading of it.

An :class:`~dnas.spaces.expression.ExpressionNetwork` is read five ways: the torch forward pass,
the SymPy expression, the NumPy function with its Jacobian (the constant fits), the AutoRA-style
text and the Graphviz drawing. All of them see the graph through :func:`walk` (which node reads
which source through which edge, and how it combines its operands) and, where they compute a
value, through :func:`fold`, which evaluates the nodes in order::

    A_j = Σ_{edges e of operand A} e(s_source),  B_j likewise,   k_j = combine_j(A_j, B_j)

A rendering only says what an edge, a sum of terms and a combination mean for its kind of value
(a :class:`Reading`); the order of the nodes, the edge labels, the dropping of ``none`` edges and
the reading of a choice off an architecture live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from torch import nn

from dnas.arch.architecture import Architecture
from dnas.space.modules import LayerChoice
from dnas.spaces.expression.primitives import Primitive

if TYPE_CHECKING:
    from dnas.spaces.expression.network import ExpressionNetwork

T = TypeVar("T")


def chosen(module: nn.Module, architecture: Architecture | None) -> nn.Module:
    """The candidate ``architecture`` picks for a choice (a fixed module is its own choice)."""
    if not isinstance(module, LayerChoice):
        return module
    if architecture is None:
        raise ValueError("the network still has choices: fix it first (dnas.fix) or pass the "
                         "architecture")
    return module.candidates[str(architecture[module.label][0])]


@dataclass(frozen=True)
class Edge:
    """One edge: ``label`` (``k2_a_x1``), the state it reads, its operand and its module (the
    chosen primitive, or the :class:`~dnas.LayerChoice` itself in a relaxed walk)."""

    label: str
    source: str
    operand: str
    module: nn.Module

    @property
    def primitive(self) -> Primitive:
        """The edge's primitive (an edge of a fixed graph; ``TypeError`` on a relaxed one)."""
        if not isinstance(self.module, Primitive):
            raise TypeError(f"edge {self.label!r} holds a {type(self.module).__name__}, not a "
                            "chosen primitive: fix the network first")
        return self.module


@dataclass(frozen=True)
class Node:
    """One node ``k_j``: its operands (each a tuple of edges, summed) and its combination (a
    :class:`~dnas.spaces.expression.network.Combine`, or the choice over them when relaxed)."""

    name: str
    index: int
    operands: tuple[tuple[Edge, ...], ...]
    combine: nn.Module
    #: whether the node feeds the output (a hidden node is only read by later nodes)
    output: bool = True

    @property
    def op(self) -> str:
        """``"add"``, ``"mul"`` or ``"div"`` (one operand: ``"add"``)."""
        if len(self.operands) == 1:
            return "add"
        op = getattr(self.combine, "op", None)
        if op is None:
            raise ValueError(f"node {self.name}'s combination is still a choice")
        return str(op)


def walk(
    network: ExpressionNetwork,
    architecture: Architecture | None = None,
    *,
    relaxed: bool = False,
    outputs: Sequence[bool] | None = None,
) -> tuple[Node, ...]:
    """The nodes of ``network`` in evaluation order.

    Parameters
    ----------
    network : ExpressionNetwork
    architecture : Architecture, optional
        Read each choice of a relaxed network off it (without copying the network).
    relaxed : bool, default False
        Keep every edge and combination as it is (choices included: the forward pass mixes them).
        Otherwise each choice is resolved (by ``architecture``, or the network must be fixed) and
        edges whose primitive is ``none`` are left out: they add 0.
    outputs : sequence of bool, optional
        Which nodes feed the output (default: the network's ``out_mask``).
    """
    if outputs is None:
        outputs = [bool(v) for v in network.out_mask.tolist()]
    nodes = []
    for j in range(1, network.n_nodes + 1):
        name = f"k{j}"
        operands = []
        for o in network.operands:
            edges = []
            for s in network.sources(j):
                label = f"{name}_{o}_{s}"
                module = network.edges[label]
                if not relaxed:
                    module = chosen(module, architecture)
                    if module.name == "none":
                        continue
                edges.append(Edge(label, s, o, module))
            operands.append(tuple(edges))
        combine = network.combine[name]
        if not relaxed:
            combine = chosen(combine, architecture)
        nodes.append(Node(name, j - 1, tuple(operands), combine, bool(outputs[j - 1])))
    return tuple(nodes)


class Reading(Generic[T]):
    """What a rendering makes of the graph: override :meth:`edge` and :meth:`combine`, and
    :meth:`zero`/:meth:`total` where a plain ``+`` does not do."""

    def edge(self, edge: Edge, x: T) -> T:  # pragma: no cover - every reading defines it
        raise NotImplementedError

    def combine(self, node: Node, operands: list[T]) -> T:  # pragma: no cover
        raise NotImplementedError

    def zero(self) -> T:  # pragma: no cover - readings whose operands may be empty define it
        raise NotImplementedError

    def total(self, terms: list[T]) -> T:
        """The sum of an operand's terms (``zero()`` when it has none)."""
        if not terms:
            return self.zero()
        out = terms[0]
        for t in terms[1:]:
            out = out + t  # type: ignore[operator]
        return out

    def operands(self, node: Node, states: Mapping[str, T]) -> list[T]:
        """Each operand of ``node``: the total of its edges applied to their sources."""
        return [self.total([self.edge(e, states[e.source]) for e in edges])
                for edges in node.operands]

    def state(self, node: Node, value: T) -> T:
        """What later nodes read as ``node``'s state (its value, unless a rendering names it)."""
        return value


def fold(nodes: Sequence[Node], inputs: Mapping[str, T], reading: Reading[T]) -> list[T]:
    """Evaluate ``nodes`` in order on ``inputs`` (``{"x1": ..., ...}``); the node values."""
    states = dict(inputs)
    out = []
    for node in nodes:
        value = reading.combine(node, reading.operands(node, states))
        out.append(value)
        states[node.name] = reading.state(node, value)
    return out


__all__ = ["Edge", "Node", "Reading", "chosen", "fold", "walk"]
