"""Additive laws as starts of the discrete search: sums of terms, found by a beam search.

A node of the expression graph adds two operands, each a sum of one edge per input, so one node
holds ``y = b + Σ_i (w_i1·f_i1(x_i) + w_i2·f_i2(x_i))`` — two terms per input: polynomials such as
``x⁴ - x³ + x₂²/2 - x₂``, ``x³ + x² + x``, sums of a logarithm and a power, of sines. A node that
multiplies its operands holds one product term ``w·f(x_j)·g(x_k)``: ``x1·x2 + x3``,
``x1²·x2 - x2``, ``x·sin x``, ``x⁴`` of a signed ``x`` (``x²·x²``). Which terms is a joint choice
over every input's edges that the relaxed search and the label-by-label refinement often get half
right (one term replaced by a flexible stand-in that fits almost as well).

With the nonlinear constants of each candidate term fixed (``x^a`` at a few exponents, ``sin x``,
``e^{-x}``, ...) the law is linear in its weights, so every subset of terms is one least-squares
solve. The powers 3-6 of one input (``x⁵ + x⁴ + x³``) take two nodes between them, the second
``x³·(k + c·x³)`` of a first that holds ``b₀ + b₁x + b₂x²`` (:func:`polynomial_columns`): any
polynomial of degree ≤ 6 in one input fits three nodes. A beam search over subsets (as many
terms as ``max_nodes`` graph nodes hold) keeps the best few of each size and stops at an exact
fit; the subset with the best BIC is one more start of the discrete search
(:func:`additive_start`), compared with the others by the same criterion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dnas.arch.architecture import Architecture
from dnas.estimators.monomial import ROUNDOFF, Equation
from dnas.spaces.expression.network import NODE_OPS, ExpressionNetwork
from dnas.spaces.expression.primitives import primitive_value

#: subsets of terms kept per size in the beam search
BEAM = 12
#: inputs beyond this many are not searched (the candidate terms grow with them)
MAX_INPUTS = 6
#: rows the beam search solves on (the chosen subset is refitted on all)
ROWS = 400
#: the backward elimination removes one term per solve below this many, a tenth of them above
SINGLY = 30
#: exponents of ``power`` tried on positive inputs (2 and 3 are ``square`` and ``cube``)
POWERS = (-2.0, -1.0, -0.5, 0.5, 1.5, 4.0, 5.0, 6.0)


@dataclass(frozen=True)
class Feature:
    """One candidate term: ``primitive`` applied to input ``column`` with its nonlinear
    coefficients fixed (``inner``), times the term ``times`` where it is a product (a ``mul``
    node of the two); its weight is the primitive's scale (``c``, or ``a`` of ``mult``)."""

    column: int
    primitive: str
    inner: tuple[tuple[str, float], ...] = ()
    times: Feature | None = None

    def value(self, X: np.ndarray) -> np.ndarray:
        """The term at unit weight on the inputs ``X``: the primitives' own NumPy forms."""
        out = primitive_value(self.primitive, X[:, self.column],
                              **{**dict(self.inner), self.weight_name: 1.0})
        return out if self.times is None else out * self.times.value(X)

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
        """Graph nodes the law needs (:func:`nodes_needed`)."""
        return max(1, nodes_needed(self.features))

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.full(len(X), self.bias)
        for f, w in zip(self.features, self.weights):
            out = out + w * f.value(X)
        return out


#: the integer power of one input each pure-power term is (``power`` at 4-6 on positive inputs)
_DEGREE = {"mult": 1, "square": 2, "cube": 3}


def power_degree(f: Feature) -> int | None:
    """The power of its input that ``f`` is at unit weight — ``x``: 1, ``x²·x³``: 5,
    ``power`` at ``a = 4``: 4 — or None for any other term."""
    if f.times is None:
        if f.primitive in _DEGREE:
            return _DEGREE[f.primitive]
        a = dict(f.inner).get("a")
        return int(a) if f.primitive == "power" and a in (4.0, 5.0, 6.0) else None
    g = f.times
    if g.times is None and g.column == f.column and f.primitive in _DEGREE and g.primitive in (
            "square", "cube") and f.primitive != "mult":
        return _DEGREE[f.primitive] + _DEGREE[g.primitive]
    return None


def _high(f: Feature, columns: frozenset[int]) -> bool:
    """Whether ``f`` is a power ≥ 3 of one of ``columns`` (placed in their polynomial nodes)."""
    degree = power_degree(f)
    return f.column in columns and degree is not None and degree >= 3


def _count(features: tuple[Feature, ...] | list[Feature], columns: frozenset[int],
           aggregate: bool) -> int:
    rest = [f for f in features if not _high(f, columns)]
    single = [f.column for f in rest if f.times is None]
    products = len(rest) - len(single) + len(columns)  # multiplying output nodes
    adding = (max(map(single.count, single), default=0) + 1) // 2
    return (products + len(columns) + adding
            + (1 if aggregate and products > 1 and not adding else 0))


def polynomial_columns(features: tuple[Feature, ...] | list[Feature], aggregate: bool = False
                       ) -> frozenset[int]:
    """The inputs whose powers 3-6 in ``features`` are best placed as one polynomial:
    ``k = b₀ + b₁x + b₂x²`` (a ``linear`` and a ``square`` edge, the coefficients of ``x³``,
    ``x⁴``, ``x⁵``) and ``x³·(k + b₃x³)`` (a ``mul`` node) — two nodes for up to four terms,
    where each of ``x⁴ … x⁶`` of a signed input otherwise takes a node of its own. Chosen
    where that needs fewer nodes in all (:func:`nodes_needed`)."""
    high: dict[int, int] = {}
    for f in features:
        degree = power_degree(f)
        if degree is not None and degree >= 3:
            high[f.column] = high.get(f.column, 0) + 1
    eligible = [c for c, n in high.items() if n >= 2 and any(
        f.column == c and (power_degree(f) or 0) >= 4 for f in features)]
    best: frozenset[int] = frozenset()
    fewest = _count(features, best, aggregate)
    for mask in range(1, 2 ** len(eligible)):
        columns = frozenset(c for i, c in enumerate(eligible) if mask >> i & 1)
        needed = _count(features, columns, aggregate)
        if needed < fewest:
            best, fewest = columns, needed
    return best


def nodes_needed(features: tuple[Feature, ...] | list[Feature], aggregate: bool = False) -> int:
    """Graph nodes that hold ``features``: one per product, two one-input terms of each input
    per adding node, two per polynomial of an input (:func:`polynomial_columns`); with
    ``aggregate`` the sum in one node (:func:`place`): one more where there are several
    multiplying nodes and no adding node."""
    return _count(features, polynomial_columns(features, aggregate), aggregate)


def candidate_features(X: np.ndarray, primitives: tuple[str, ...],
                       node_ops: tuple[str, ...] = NODE_OPS) -> list[Feature]:
    """The one-input terms a single edge of ``primitives`` computes, per column of ``X``, and
    (where ``node_ops`` has ``mul``) the products of two edges a ``mul`` node computes
    (:func:`product_features`)."""
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
    return out + product_features(X, primitives) if "mul" in node_ops else out


def product_features(X: np.ndarray, primitives: tuple[str, ...]) -> list[Feature]:
    """Products of two edges: ``f(x_j)·g(x_k)`` for ``j < k`` with ``f, g`` among ``mult``,
    ``square``, ``cube``; the ratios ``x_j/x_k``, ``x_j/x_k²``, ``x_j²/x_k``, ``x_j²/x_k²``
    (``power`` -1, -2 of a positive ``x_k``, ``reciprocal`` of a signed one); ``x_j·sin x_k``,
    ``x_j·cos x_k``, ``x_j·ln x_k`` (also ``j = k``); and the powers 4-6 of a signed input
    (``x²·x²``, ``x²·x³``, ``x³·x³``: positive inputs have them as ``power``)."""
    have = set(primitives)
    if "mult" not in have:
        return []
    d = X.shape[1]
    polynomial = [p for p in ("mult", "square", "cube") if p in have]
    unit = (("c", 1.0), ("a", 1.0), ("b", 0.0))
    nonlinear = [(p, unit) for p in ("linear_sin", "linear_cos") if p in have]

    def inverses(column: int) -> list[Feature]:
        x = X[:, column]
        if np.all(x > 0) and "power" in have:
            return [Feature(column, "power", (("c", 1.0), ("a", a))) for a in (-1.0, -2.0)]
        if np.all(x != 0) and "reciprocal" in have:
            return [Feature(column, "reciprocal")]
        return []

    out: list[Feature] = []
    for j in range(d):
        for k in range(j + 1, d):
            out += [Feature(j, f, times=Feature(k, g)) for f in polynomial for g in polynomial]
        for k in range(d):
            if k != j:
                out += [Feature(j, f, times=g) for f in ("mult", "square") if f in have
                        for g in inverses(k)]
            out += [Feature(j, "mult", times=Feature(k, p, inner)) for p, inner in nonlinear]
            if "ln" in have and np.all(X[:, k] > 0):
                out.append(Feature(j, "mult", times=Feature(k, "ln")))
        if not np.all(X[:, j] > 0):
            out += [Feature(j, f, times=Feature(j, g)) for f, g in (
                ("square", "square"), ("square", "cube"), ("cube", "cube"))
                if f in have and g in have]
    return out


def additive_law(X: np.ndarray, y: np.ndarray, primitives: tuple[str, ...],
                 max_nodes: int = 1, max_terms: int = 8,
                 node_ops: tuple[str, ...] = NODE_OPS, aggregate: bool = False
                 ) -> AdditiveLaw | None:
    """The sum of terms (as many as ``max_nodes`` graph nodes hold: :func:`nodes_needed`, summed
    in one node where ``aggregate``; at most ``max_terms``) with the best BIC, or None when there
    are no candidate terms or too many inputs (``MAX_INPUTS``).

    Two searches over subsets, each scoring every subset by one least-squares solve: a forward
    beam (the best ``BEAM`` subsets of each size grow by one term) and a backward elimination
    from every term at once (the term whose removal costs least goes first: on exact data every
    term the law does not use costs nothing, however correlated the candidates are)."""
    n, d = X.shape
    if d > MAX_INPUTS or n < 4 or not np.all(np.isfinite(X)):
        return None
    features = candidate_features(X, primitives, node_ops)
    with np.errstate(all="ignore"):
        columns = [f.value(X) for f in features]
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
        return (len(subset) <= max_terms
                and nodes_needed([features[k] for k in subset], aggregate) <= max_nodes)

    def bic(mse: float, size: int) -> float:
        return len(rows) * np.log(max(mse, tie)) + 2 * size * np.log(len(rows))

    best: tuple[tuple[int, ...], float] = ((), solve((), rows)[0])

    def offer(subset: tuple[int, ...], mse: float) -> None:
        nonlocal best
        if admissible(subset) and bic(mse, len(subset)) < bic(best[1], len(best[0])):
            best = (subset, mse)

    # forward beam: the error of every state plus one term at once (the candidates projected off
    # the state's columns), then the best few by an exact solve (the projection's subtraction
    # cannot resolve an exact fit from a close one)
    design = np.column_stack([columns[k][rows] / scale[k] for k in usable])
    target = y[rows]
    states: list[tuple[int, ...]] = [()]
    for _ in range(max_terms):
        approx: dict[tuple[int, ...], float] = {}
        for state in states:
            basis, _ = np.linalg.qr(np.column_stack(
                [np.ones(len(rows))] + [design[:, usable.index(k)] for k in state]))
            resid = target - basis @ (basis.T @ target)
            rest = design - basis @ (basis.T @ design)
            norm = np.einsum("ij,ij->j", rest, rest)
            fresh = norm > 1e-20 * np.einsum("ij,ij->j", design, design)
            gain = np.where(fresh, (rest.T @ resid) ** 2 / np.where(fresh, norm, 1.0), 0.0)
            sse = float(resid @ resid) - gain
            for u in np.argsort(sse):
                subset = tuple(sorted((*state, usable[u])))
                if usable[u] in state or subset in approx or not admissible(subset):
                    continue
                approx[subset] = float(sse[u])
                if len(approx) >= 2 * BEAM * len(states):
                    break
        if not approx:
            break
        scored = {s: solve(s, rows)[0] for s in sorted(approx, key=approx.__getitem__)[:2 * BEAM]}
        states = sorted(scored, key=scored.__getitem__)[:BEAM]
        offer(states[0], scored[states[0]])
        if scored[states[0]] <= tie:
            break
    current = tuple(usable)  # backward elimination
    while len(current) > 1:
        # removing term i raises the squared error by coef_i² / (DᵀD)⁻¹_ii: one SVD per step;
        # of many terms the cheapest tenth go at once
        full = np.column_stack([np.ones(len(rows)), design[:, [usable.index(k) for k in current]]])
        pinv = np.linalg.pinv(full)
        coef = pinv @ target
        cost = coef[1:] ** 2 / np.maximum(np.einsum("ij,ij->i", pinv, pinv)[1:], 1e-300)
        drop = set(np.argsort(cost)[: max(1, (len(current) - SINGLY) // 10)].tolist())
        current = tuple(k for i, k in enumerate(current) if i not in drop)
        if admissible(current):
            offer(current, solve(current, rows)[0])
    subset = best[0]
    if not subset:
        return None
    mse, coef = solve(subset, np.arange(n))
    return AdditiveLaw(tuple(features[k] for k in subset),
                       tuple(float(c) / scale[k] for c, k in zip(coef[1:], subset)),
                       float(coef[0]), mse)


def place(eq: Equation, law: AdditiveLaw, aggregate: bool = False) -> list[int]:
    """Set the edges of ``law`` in ``eq`` (weights solved, bias not set): each product a ``mul``
    node of its two edges (``k1``, ``k2``, ...), then each input's one-input terms two to an
    ``add`` node (one per operand); with ``aggregate`` the last node also reads every earlier
    one (a ``mult`` edge), so that it holds the whole sum. Terms beyond the network's nodes are
    left out (the refinement may find their place). Each polynomial of an input
    (:func:`polynomial_columns`) takes two nodes after the products, the first read only by the
    second. Returns the nodes that hold terms of the sum, in order."""
    network = eq.network
    inputs = network.sources(1)
    used: list[int] = []
    grouped = polynomial_columns(law.features, aggregate)
    terms = list(zip(law.features, law.weights))
    products = [(f, w) for f, w in terms if f.times is not None and not _high(f, grouped)]
    for node, (f, w) in enumerate(products[: network.n_nodes], start=1):
        assert f.times is not None
        eq.edge(f"k{node}_a_{inputs[f.column]}", f.primitive, {**dict(f.inner), f.weight_name: w})
        g = f.times
        eq.edge(f"k{node}_b_{inputs[g.column]}", g.primitive, {**dict(g.inner), g.weight_name: 1.0})
        eq.node(node, "mul")
        used.append(node)
    first = len(products) + 1  # the polynomials' pairs of nodes, then the adding nodes
    for column in sorted(grouped):
        if first + 1 > network.n_nodes:
            break
        b = {power_degree(f): w for f, w in terms if _high(f, frozenset([column]))}
        x, inner = inputs[column], first
        if b.get(3) or b.get(4):  # k = b₀ + b₁x + b₂x², b_i the weight of x^(3+i)
            eq.edge(f"k{inner}_a_{x}", "linear", {"a": b.get(4, 0.0), "b": b.get(3, 0.0)})
        if b.get(5):
            eq.edge(f"k{inner}_b_{x}", "square", {"c": b[5]})
        eq.edge(f"k{inner + 1}_a_{x}", "cube", {"c": 1.0})  # x³·(k + b₃x³)
        eq.edge(f"k{inner + 1}_b_k{inner}", "mult", {"a": 1.0})
        if b.get(6):
            eq.edge(f"k{inner + 1}_b_{x}", "cube", {"c": b[6]})
        eq.node(inner + 1, "mul")
        used.append(inner + 1)
        first += 2
    multiplying = first - 1
    placed: dict[int, int] = {}  # one-input terms of each input placed so far
    for f, w in terms:
        if f.times is not None or _high(f, grouped):
            continue
        slot = placed.get(f.column, 0)
        placed[f.column] = slot + 1
        node = first + slot // 2
        if node > network.n_nodes:  # no room left: the weakest terms wait for the refinement
            continue
        eq.edge(f"k{node}_{'ab'[slot % 2]}_{inputs[f.column]}", f.primitive,
                {**dict(f.inner), f.weight_name: w})
        if node not in used:
            used.append(node)
    if aggregate and len(used) > 1:
        last = used[-1] if used[-1] > multiplying else used[-1] + 1
        if last <= network.n_nodes:
            for j in used:
                if j < last:
                    eq.edge(f"k{last}_a_k{j}", "mult", {"a": 1.0})
            used = [*[j for j in used if j != last], last]
    return used


def additive_start(network: ExpressionNetwork, law: AdditiveLaw | None
                   ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]] | None:
    """``law`` as nodes of ``network`` (:func:`place`; every node used is an output, the others
    empty and hidden) with the solved weights and the bias as initial values:
    ``(architecture, outputs, init)``. None when there is no law or the network lacks a
    primitive or node operation it needs."""
    if law is None or not fits_in(network, law):
        return None
    eq = Equation(network)
    used = place(eq, law)
    eq.init[(id(network.out_bias), None)] = law.bias
    return eq.result(tuple(j in used for j in range(1, network.n_nodes + 1)))


def fits_in(network: ExpressionNetwork, law: AdditiveLaw) -> bool:
    """Whether ``network`` has every primitive and node operation ``law`` needs."""
    needed = {g.primitive for f in law.features for g in (f, f.times) if g is not None}
    polynomial = bool(polynomial_columns(law.features))
    if polynomial:
        needed |= {"linear", "square", "cube", "mult"}
    products = polynomial or any(f.times is not None for f in law.features)
    return needed <= set(network.primitives) and (not products or "mul" in network.node_ops)


__all__ = ["AdditiveLaw", "Feature", "additive_law", "additive_start", "candidate_features",
           "fits_in", "nodes_needed", "place", "polynomial_columns", "power_degree",
           "product_features"]
