"""Additive laws as starts of the discrete search: sums of one-input terms, found by a beam search.

A node of the expression graph adds two operands, each a sum of one edge per input, so one node
holds ``y = b + Σ_i (w_i1·f_i1(x_i) + w_i2·f_i2(x_i))`` — two terms per input: polynomials such as
``x⁴ - x³ + x₂²/2 - x₂``, ``x³ + x² + x``, sums of a logarithm and a power, of sines. Which terms is
a joint choice over every input's edges that the relaxed search and the label-by-label refinement
often get half right (one term replaced by a flexible stand-in that fits almost as well).

With the nonlinear constants of each candidate term fixed (``x^a`` at a few exponents, ``sin x``,
``e^{-x}``, ...) the law is linear in its weights, so every subset of terms is one least-squares
solve. A beam search over subsets (at most two terms per input) keeps the best few of each size
and stops at an exact fit; the subset with the best BIC is one more start of the discrete search
(:func:`additive_start`), compared with the others by the same criterion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dnas.arch.architecture import Architecture
from dnas.estimators.monomial import ROUNDOFF, Equation
from dnas.spaces.expression.network import ExpressionNetwork
from dnas.spaces.expression.primitives import primitive_value

#: subsets of terms kept per size in the beam search
BEAM = 12
#: inputs beyond this many are not searched (the candidate terms grow with them)
MAX_INPUTS = 6
#: rows the beam search solves on (the chosen subset is refitted on all)
ROWS = 400
#: exponents of ``power`` tried on positive inputs (2 and 3 are ``square`` and ``cube``)
POWERS = (-2.0, -1.0, -0.5, 0.5, 1.5, 4.0, 5.0, 6.0)


@dataclass(frozen=True)
class Feature:
    """One candidate term: ``primitive`` applied to input ``column`` with its nonlinear
    coefficients fixed (``inner``); its weight is the primitive's scale (``c``, or ``a`` of
    ``mult``)."""

    column: int
    primitive: str
    inner: tuple[tuple[str, float], ...] = ()

    def value(self, x: np.ndarray) -> np.ndarray:
        """The term at unit weight: the primitive's own NumPy form."""
        return primitive_value(self.primitive, x, **{**dict(self.inner), self.weight_name: 1.0})

    @property
    def weight_name(self) -> str:
        return "a" if self.primitive == "mult" else "c"


@dataclass
class AdditiveLaw:
    """``y ≈ bias + Σ weight · feature``; ``mse`` its error on ``y``."""

    features: tuple[Feature, ...]
    weights: tuple[float, ...]
    bias: float
    mse: float

    @property
    def n_nodes(self) -> int:
        """Graph nodes the law needs: two terms of each input per node."""
        counts = [sum(f.column == c for f in self.features) for c in {f.column for f in
                                                                      self.features}]
        return max(1, (max(counts, default=0) + 1) // 2)

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.full(len(X), self.bias)
        for f, w in zip(self.features, self.weights):
            out = out + w * f.value(X[:, f.column])
        return out


def candidate_features(X: np.ndarray, primitives: tuple[str, ...]) -> list[Feature]:
    """The one-input terms a single edge of ``primitives`` computes, per column of ``X``."""
    out: list[Feature] = []
    have = set(primitives)
    for i in range(X.shape[1]):
        x = X[:, i]
        positive, nonzero = bool(np.all(x > 0)), bool(np.all(x != 0))
        out += [Feature(i, p) for p in ("mult", "square", "cube") if p in have]
        if positive and "power" in have:
            out += [Feature(i, "power", (("c", 1.0), ("a", a))) for a in POWERS]
        if positive and "ln" in have:
            out.append(Feature(i, "ln"))
        if nonzero and not positive and "reciprocal" in have:
            out.append(Feature(i, "reciprocal"))
        if "exp" in have and float(np.max(np.abs(x))) <= 20:
            out += [Feature(i, "exp", (("c", 1.0), ("a", a))) for a in (1.0, -1.0)]
        out += [Feature(i, p, (("c", 1.0), ("a", 1.0), ("b", 0.0)))
                for p in ("linear_sin", "linear_cos") if p in have]
    return out


def additive_law(X: np.ndarray, y: np.ndarray, primitives: tuple[str, ...],
                 per_column: int = 2, max_terms: int = 8) -> AdditiveLaw | None:
    """The sum of one-input terms (at most ``per_column`` per input, ``max_terms`` in all) with
    the best BIC, or None when there are no candidate terms or too many inputs (``MAX_INPUTS``).

    Two searches over subsets, each scoring every subset by one least-squares solve: a forward
    beam (the best ``BEAM`` subsets of each size grow by one term) and a backward elimination
    from every term at once (the term whose removal costs least goes first: on exact data every
    term the law does not use costs nothing, however correlated the candidates are)."""
    n, d = X.shape
    if d > MAX_INPUTS or n < 4 or not np.all(np.isfinite(X)):
        return None
    features = candidate_features(X, primitives)
    with np.errstate(all="ignore"):
        columns = [f.value(X[:, f.column]) for f in features]
    usable = [k for k, c in enumerate(columns) if np.all(np.isfinite(c)) and np.std(c) > 0]
    if not usable:
        return None
    rows = np.random.default_rng(0).permutation(n)[:ROWS] if n > ROWS else np.arange(n)
    tie = ROUNDOFF * max(float(np.var(y)), 1e-300)
    scale = [float(np.std(columns[k][rows])) or 1.0 for k in range(len(columns))]

    def solve(subset: tuple[int, ...], at: np.ndarray) -> tuple[float, np.ndarray]:
        design = np.column_stack([np.ones(len(at))] + [columns[k][at] / scale[k]
                                                        for k in subset])
        coef, *_ = np.linalg.lstsq(design, y[at], rcond=None)
        resid = design @ coef - y[at]
        return float(np.mean(resid**2)), coef

    def admissible(subset: tuple[int, ...]) -> bool:
        used = [features[k].column for k in subset]
        return len(subset) <= max_terms and all(used.count(c) <= per_column for c in set(used))

    def bic(mse: float, size: int) -> float:
        return len(rows) * np.log(max(mse, tie)) + 2 * size * np.log(len(rows))

    best: tuple[tuple[int, ...], float] = ((), solve((), rows)[0])

    def offer(subset: tuple[int, ...], mse: float) -> None:
        nonlocal best
        if admissible(subset) and bic(mse, len(subset)) < bic(best[1], len(best[0])):
            best = (subset, mse)

    states: list[tuple[int, ...]] = [()]
    for _ in range(max_terms):  # forward beam
        scored: dict[tuple[int, ...], float] = {}
        for state in states:
            for k in usable:
                subset = tuple(sorted((*state, k)))
                if k not in state and subset not in scored and admissible(subset):
                    scored[subset] = solve(subset, rows)[0]
        if not scored:
            break
        states = sorted(scored, key=scored.__getitem__)[:BEAM]
        offer(states[0], scored[states[0]])
        if scored[states[0]] <= tie:
            break
    current = tuple(usable)  # backward elimination
    while len(current) > 1:
        # removing term i raises the squared error by coef_i² / (DᵀD)⁻¹_ii: one SVD per step
        design = np.column_stack([np.ones(len(rows))] + [columns[k][rows] / scale[k]
                                                          for k in current])
        pinv = np.linalg.pinv(design)
        coef = pinv @ y[rows]
        cost = coef[1:] ** 2 / np.maximum(np.einsum("ij,ij->i", pinv, pinv)[1:], 1e-300)
        i = int(np.argmin(cost))
        current = current[:i] + current[i + 1:]
        if admissible(current):
            offer(current, solve(current, rows)[0])
    subset = best[0]
    if not subset:
        return None
    mse, coef = solve(subset, np.arange(n))
    return AdditiveLaw(tuple(features[k] for k in subset),
                       tuple(float(c) / scale[k] for c, k in zip(coef[1:], subset)),
                       float(coef[0]), mse)


def additive_start(network: ExpressionNetwork, law: AdditiveLaw | None
                   ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]] | None:
    """``law`` as ``add`` nodes of ``network`` — each input's terms two to a node (one per
    operand), in ``k1``, then ``k2``, ...; nodes not needed empty and hidden — with the solved
    weights and the bias as initial values: ``(architecture, outputs, init)``. None when there
    is no law or the network lacks a primitive it needs."""
    if law is None or not {f.primitive for f in law.features} <= set(network.primitives):
        return None
    inputs = network.sources(1)
    eq = Equation(network)
    placed: dict[int, int] = {}  # terms of each input placed so far
    for f, w in zip(law.features, law.weights):
        slot = placed.get(f.column, 0)
        placed[f.column] = slot + 1
        node = slot // 2 + 1
        if node > network.n_nodes:  # no room left: the weakest terms wait for the refinement
            continue
        eq.edge(f"k{node}_{'ab'[slot % 2]}_{inputs[f.column]}", f.primitive,
                {**dict(f.inner), f.weight_name: w})
    eq.init[(id(network.out_bias), None)] = law.bias
    nodes = min(network.n_nodes, (max(placed.values()) + 1) // 2)
    return eq.result(tuple(j <= nodes for j in range(1, network.n_nodes + 1)))


__all__ = ["AdditiveLaw", "Feature", "additive_law", "additive_start", "candidate_features"]
