"""Nesting one primitive in another: the composition starts of the discrete search.

An edge applies one primitive to its source, so a nested law — ``sin(x²)``, ``exp(−x²/2)``,
``ln(x1·x2)``, ``√(1 − v²/c²)`` — needs a hidden node ``k = g(s)`` that the edge reads:
``f(k) = f(g(s))``. No single change of one choice builds that (a new hidden node alone changes
nothing, and an edge can only read a node that computes something), so the coordinate search of
:func:`~dnas.estimators.fitting.refine` never reaches it from an equation without it, and the
relaxed search finds it only when its α happens to point both ways at once.

When the graph grows from ``n`` to ``n + 1`` nodes, every edge ``f(s)`` of the smaller graph's
best equation is replaced by every nesting ``h(g(s))`` of two primitives::

    f(s)  ->  h(k),  k = g(s)        (sin(x) -> sin(x²), x² -> exp(c·x²), exp(x) -> sin(x²))

the new node ``k`` hidden and inserted right after ``s`` (first, when ``s`` is an input), later
nodes shifted by one, every fitted constant kept (``f``'s own ones where ``f`` stays, inside or
outside) and the new ones starting from their neutral values. The smaller graph's edge need not
be either half: a smooth nested law is often stood in for by another primitive (``sin(x²)`` by
``exp`` and a shifted power on [-1, 1]). Pure rescalings (``mult``, ``subtract``) and the
identity are not nested: every other primitive already has a scale. The best of these (by the
criterion, after a short fit; a few milliseconds each) are further starts of the discrete search.
"""

from __future__ import annotations

import re
from typing import Any

from dnas.arch.architecture import Architecture
from dnas.estimators.fitting import Candidate, Evaluator, rank
from dnas.spaces.expression.network import ExpressionNetwork

_LABEL = re.compile(r"^k(\d+)_(op|[ab]_(x\d+|k\d+))$")
#: primitives never nested: ``none`` removes the term, ``add`` is the identity, and ``mult`` and
#: ``subtract`` only rescale (every other primitive has a scale of its own)
_SKIP = ("none", "add", "mult", "subtract")


def _shift_source(source: str, position: int) -> str:
    """``source`` after a node is inserted at ``position`` (1-based): later nodes move up."""
    if source.startswith("k") and int(source[1:]) >= position:
        return f"k{int(source[1:]) + 1}"
    return source


def shift_label(label: str, position: int) -> str:
    """An edge or combination label after a node is inserted at ``position``."""
    match = _LABEL.match(label)
    if match is None:
        raise ValueError(f"{label!r} is not an expression-graph label")
    node = int(match.group(1))
    node = node + 1 if node >= position else node
    if match.group(2) == "op":
        return f"k{node}_op"
    operand, source = match.group(2).split("_", 1)
    return f"k{node}_{operand}_{_shift_source(source, position)}"


def _primitive(network: ExpressionNetwork, label: str, name: str) -> Any:
    """The module of candidate ``name`` on edge ``label``."""
    choice: Any = network.edges[label]
    return choice.candidates[name]


def _values_by_label(network: ExpressionNetwork, cand: Candidate) -> dict:
    """``cand``'s fitted constants keyed by meaning: ``(label, coefficient)``, ``("out", j)``
    and ``("bias",)``, instead of the network's parameter identities."""
    out: dict = {}
    for label, names in cand.architecture.items():
        if label in network.edges:
            module = _primitive(network, label, str(names[0]))
            for c, _ in module.coefficients:
                key: tuple[int, int | None] = (id(getattr(module, c)), None)
                if key in cand.values:
                    out[(label, c)] = cand.values[key]
    for j in range(network.n_nodes):
        key = (id(network.out_weight), j)
        if key in cand.values:
            out[("out", j)] = cand.values[key]
    if (id(network.out_bias), None) in cand.values:
        out[("bias",)] = cand.values[(id(network.out_bias), None)]
    return out


def _init_for(network: ExpressionNetwork, architecture: Architecture, by_label: dict) -> dict:
    """Warm-start values of ``network``'s parameters for ``architecture`` from ``by_label``."""
    init: dict = {}
    for label, names in architecture.items():
        if label in network.edges:
            module = _primitive(network, label, str(names[0]))
            for c, _ in module.coefficients:
                if (label, c) in by_label:
                    init[(id(getattr(module, c)), None)] = by_label[(label, c)]
    for j in range(network.n_nodes):
        if ("out", j) in by_label:
            init[(id(network.out_weight), j)] = by_label[("out", j)]
    if ("bias",) in by_label:
        init[(id(network.out_bias), None)] = by_label[("bias",)]
    return init


def composed_starts(
    evaluate: Evaluator,
    smaller: ExpressionNetwork,
    cand: Candidate,
    primitives: tuple[str, ...] | None = None,
) -> list[Candidate]:
    """Every edge of ``cand`` (an equation of ``smaller``) replaced by every nesting of two
    primitives, as equations of ``evaluate``'s network (one node more); fitted and scored, best
    first (those fitted before ``evaluate`` is exhausted)."""
    big = evaluate.network
    if big.n_nodes != smaller.n_nodes + 1:
        raise ValueError(f"composition adds one node: {smaller.n_nodes} -> {big.n_nodes} nodes "
                         f"given")
    prims = [p for p in (primitives or big.primitives) if p not in _SKIP]
    labels = [str(g.label) for g in [*big.edges.values(), *big.combine.values()]
              if isinstance(getattr(g, "label", None), str)]
    old = _values_by_label(smaller, cand)
    outputs = cand.outputs or (True,) * smaller.n_nodes
    found: dict[tuple, Candidate] = {}
    for label, names in cand.architecture.items():
        f = str(names[0])
        if label not in smaller.edges or f == "none":
            continue
        match = _LABEL.match(label)
        assert match is not None
        node, operand_source = int(match.group(1)), match.group(2)
        operand, source = operand_source.split("_", 1)
        position = int(source[1:]) + 1 if source.startswith("k") else 1
        base: dict[str, list[str]] = {
            lab: ["add"] if lab.endswith("_op") else ["none"] for lab in labels}
        values: dict = {}
        for old_label, old_names in cand.architecture.items():
            new_label = shift_label(old_label, position)
            base[new_label] = [str(n) for n in old_names]
            for key, v in old.items():
                if key[0] == old_label:
                    values[(new_label, key[1])] = v
        for j in range(len(outputs)):
            if ("out", j) in old:
                values[("out", j if j + 1 < position else j + 1)] = old[("out", j)]
        if ("bias",) in old:
            values[("bias",)] = old[("bias",)]
        edge = shift_label(label, position)  # where the edge now is
        node_new = node + 1 if node >= position else node
        reader = f"k{node_new}_{operand}_k{position}"  # the same edge reading the new node
        inner_label = f"k{position}_a_{source}"  # the new node's edge from the old source
        new_outputs = (*outputs[:position - 1], False, *outputs[position - 1:])
        for inner in prims:
            for outer in prims:
                if evaluate.exhausted:  # the work budget is spent: the compositions so far
                    return sorted(found.values(), key=rank)
                choice: dict[str, list[str]] = {
                    **base, edge: ["none"], reader: [outer], inner_label: [inner]}
                trial = dict(values)
                moved = [(key[1], v) for key, v in values.items() if key[0] == edge]
                for c, v in moved:  # f's constants follow f
                    trial.pop((edge, c))
                    if f in (inner, outer):
                        trial[(reader if outer == f else inner_label, c)] = v
                architecture = Architecture(choice)
                result = evaluate(architecture, cand.use_bias,
                                  _init_for(big, architecture, trial), new_outputs)
                found.setdefault(result.form, result)
    return sorted(found.values(), key=rank)


__all__ = ["composed_starts", "shift_label"]
