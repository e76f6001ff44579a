"""Power laws as starts of the discrete search: ``y ≈ c · Π x_i^p_i`` fitted in log space.

Most laws of physics and many of psychophysics are products of powers of their inputs
(``x1/(4π·x2·x3²)``, ``√(x1·x2/x3)``, Stevens' ``c·x^a``) or close to one. In the expression
graph such a law is a chain of products — ``k1 = x_a^p · x_b^q``, ``k2 = k1 · x_c^r``, ... —
several coordinated choices that neither the relaxed search (its α must point at every factor at
once) nor a change of one choice at a time reliably reaches from a poor derived architecture: the
search fails where the space does not.

Where some inputs are positive, ``ln|y| = ln|c| + Σ p_i ln x_i`` is linear in the exponents, so
one least-squares solve gives the best power law of the data; its chain of ``power`` edges,
warm-started at the solved exponents, is one more start of the discrete search
(:meth:`dnas.estimators.DARTSRegressor._select`), compared with the others by the same
criterion — a start, not an answer: when the law is not a power law the refinement moves on from
it or another start wins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dnas.arch.architecture import Architecture
from dnas.spaces.expression.network import ExpressionNetwork, op_label

#: a factor whose exponent moves ``ln y`` by less than this fraction of ln y's spread is dropped
NEGLIGIBLE = 1e-3
#: a closed-form law whose own least-squares error is below this fraction of ``var(y)`` is exact
#: (round-off): noise-free data of that very form give 1e-30, a flexible stand-in 1e-13 at best
ROUNDOFF = 1e-20


def pruned_lstsq(target: np.ndarray, columns: list[np.ndarray], prunes: int = 2,
                 spread: float | None = None, weight: np.ndarray | None = None
                 ) -> tuple[float, dict[int, float], float] | None:
    """Least squares of ``target`` on ``[1, columns]``; up to ``prunes`` times the columns whose
    effect (|coefficient| · their spread) is below ``NEGLIGIBLE`` of ``spread`` (default: the
    target's) are dropped and the rest refitted. ``weight`` (one per row) weighs the rows: a
    target ``ln|y|`` is noisy where ``y`` crosses 0 (its error is about ``σ/|y|``), so
    ``weight = |y|`` lets those rows count little. ``(intercept, {column index: coefficient},
    MSE)`` (the MSE unweighted), or None where the solve is not finite."""
    spread = spread if spread is not None else (float(np.std(target)) or 1.0)
    kept = list(range(len(columns)))
    while True:
        design = np.column_stack([np.ones(len(target))] + [columns[i] for i in kept])
        if weight is None:
            coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        else:
            coef, *_ = np.linalg.lstsq(design * weight[:, None], target * weight, rcond=None)
        if not np.all(np.isfinite(coef)):
            return None
        small = [i for i, c in zip(kept, coef[1:])
                 if abs(c) * float(np.std(columns[i])) <= NEGLIGIBLE * spread] if prunes else []
        if not small:
            mse = float(np.mean((design @ coef - target) ** 2))
            return float(coef[0]), dict(zip(kept, map(float, coef[1:]))), mse
        kept = [i for i in kept if i not in small]
        prunes -= 1


def power_law(X: np.ndarray, y: np.ndarray) -> tuple[float, dict[int, float]] | None:
    """``(c, {column: exponent})`` of the least-squares power law ``|y| ≈ |c| · Π x_i^p_i`` over
    the positive columns, strongest factor first (``c`` has ``y``'s sign where that is one sign,
    else it is positive); None where ``y`` is 0 on more than a tenth of the rows or no column is
    positive.

    Where ``y`` is a power law times a factor of other inputs that changes sign
    (``x1·x2·sin(x3)``), ``ln|y|`` is that law plus a term independent of its inputs: the
    exponents still come out right on average, and the refinement replaces the power of the
    remaining input by the factor it needs.
    """
    rows = y != 0
    if len(y) < 3 or rows.sum() < 0.9 * len(y):
        return None
    columns = [i for i in range(X.shape[1]) if np.all(X[:, i] > 0)]
    if not columns:
        return None
    X, y = X[rows], y[rows]
    logs = np.log(X[:, columns])
    target = np.log(np.abs(y))
    design = np.column_stack([np.ones(len(y)), logs])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    if not np.all(np.isfinite(coef)):
        return None
    spread = float(np.std(target)) or 1.0
    effect = {c: abs(p) * float(np.std(logs[:, k])) for k, (c, p) in enumerate(zip(columns,
                                                                                 coef[1:]))}
    kept = sorted((c for c in columns if effect[c] > NEGLIGIBLE * spread),
                  key=lambda c: -effect[c])
    exponents = {c: float(coef[1 + columns.index(c)]) for c in kept}
    sign = -1.0 if np.all(y < 0) else 1.0
    return float(sign * np.exp(coef[0])), exponents


class Equation:
    """An equation of ``network`` built edge by edge for :class:`~dnas.estimators.fitting.
    Evaluator`: every edge ``none`` and every node ``add`` until set; ``init`` holds the initial
    values of the constants set (the closed-form laws' solved values)."""

    def __init__(self, network: ExpressionNetwork) -> None:
        self.network = network
        self.choice: dict[str, list[str]] = {}
        for module in [*network.edges.values(), *network.combine.values()]:
            label = getattr(module, "label", None)
            if isinstance(label, str):
                self.choice[label] = ["add"] if label.endswith("_op") else ["none"]
        self.init: dict[Any, float] = {}

    def edge(self, label: str, primitive: str, values: dict[str, float]) -> None:
        """Edge ``label`` becomes ``primitive`` with its constants starting at ``values``."""
        self.choice[label] = [primitive]
        candidate: Any = self.network.edges[label].candidates[primitive]  # type: ignore[index]
        for name, value in values.items():
            self.init[(id(getattr(candidate, name)), None)] = value

    def node(self, j: int, op: str) -> None:
        """Node ``k_j`` combines its operands by ``op``."""
        self.choice[op_label(f"k{j}")] = [op]

    def result(self, outputs: tuple[bool, ...]
               ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]]:
        """``(architecture, outputs, init)``; the output weights of the nodes in ``outputs``
        start at 1 where they are learned."""
        if self.network.out_weight.requires_grad:
            for j, shown in enumerate(outputs):
                if shown:
                    self.init[(id(self.network.out_weight), j)] = 1.0
        return Architecture(self.choice), outputs, self.init


def power_law_start(network: ExpressionNetwork, X: np.ndarray, y: np.ndarray
                    ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]] | None:
    """The power law of the data as an equation of ``network``: ``(architecture, outputs, init)``
    for :class:`~dnas.estimators.fitting.Evaluator` (``init`` warm-starts the ``power`` edges at
    the solved constant and exponents), or None when there is no power law to fit or ``network``
    lacks the ``power`` primitive. With more factors than the graph has room for (``n_nodes + 1``)
    the weakest are left out."""
    if "power" not in network.primitives or "mul" not in network.node_ops:
        return None
    fitted = power_law(X, y)
    if fitted is None or not fitted[1]:
        return None
    const, exponents = fitted
    factors = list(exponents)[: network.n_nodes + 1]
    inputs = network.sources(1)
    eq = Equation(network)

    def power_edge(label: str, column: int, c: float) -> None:
        eq.edge(label, "power", {"c": c, "a": exponents[column]})

    # k1 = x_f1^p1 (· x_f2^p2); k_j = k_{j-1} · x_f(j+1)^p(j+1): one node per factor after two
    power_edge(f"k1_a_{inputs[factors[0]]}", factors[0], const)
    if len(factors) > 1:
        power_edge(f"k1_b_{inputs[factors[1]]}", factors[1], 1.0)
        eq.node(1, "mul")
    last = 1
    chained = factors[2:] if "mult" in network.primitives else []  # k_j reads k_{j-1} by mult
    for j, column in enumerate(chained, start=2):
        eq.edge(f"k{j}_a_k{j - 1}", "mult", {"a": 1.0})
        power_edge(f"k{j}_b_{inputs[column]}", column, 1.0)
        eq.node(j, "mul")
        last = j
    return eq.result(tuple(j == last for j in range(1, network.n_nodes + 1)))


__all__ = ["NEGLIGIBLE", "ROUNDOFF", "Equation", "power_law", "power_law_start", "pruned_lstsq"]
