"""Factored laws as starts of the discrete search: a power law times factors of one simple term.

Many laws are a power law of their inputs times one or two factors of a simple term ``t`` of
them: the Lorentz factor ``x1/√(1 - x2²/x3²)`` (``t = (x2/x3)²``), the Doppler ratio
``x3/(1 - x2/x1)``, the Gaussian ``exp(-(x2/x1)²/2)/x1``, ``x1/(x2·(1 + x3))``, or a power law
times a sine, ``x1·x2·sin x3``. In the expression graph each is a short chain — a node for ``t``,
a product node of its factors, a product per further input — a coordinated choice of several
labels that neither the relaxed search nor a change of one label at a time reliably reaches.

For each candidate term — ``t = x_j^m``, ``(x_j/x_k)^m`` or ``(x_j·x_k)^m`` (a decay
``x1·exp(-x2·x3)``), ``m ∈ {1, 2}`` — the law

    ln|y| = ln|c| + Σ_i p_i ln x_i + q₁ ln(1 + t) + q₂ ln|1 - t| + r·t

is linear in its unknowns: one least-squares solve per term, then the factors with a negligible
effect are dropped and the rest refitted. Two factors have one nonlinear constant, found by a
one-dimensional search of that solve's error: ``(1 + s·t)^q`` (``K/(K + x)``) and the charging
curve ``1 - exp(q·t)`` (``x1·(1 - e^{-x2/x3})``, a learning curve). A power law times
``sin u`` or ``cos u`` of ``u = x_j``, ``x_j/x_k``, ``x_j·x_k`` or ``x_j ± x_k`` (signed, so
exponent 1: an oscillation ``A·sin(ω·t)``, a phase difference ``x1·sin(x2 - x3)``) is solved the
same way with ``ln|sin u|`` subtracted, its rows weighted by ``|y|`` (``ln|y|`` is noisy where
``y`` crosses 0). The best law by its error on ``y`` is a start of the discrete search
(:func:`factored_start`), compared with the other starts by the same criterion — a start, not an
answer — and when it is exact (noise-free data) the relaxed search is skipped
(:meth:`dnas.estimators.DARTSRegressor.fit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from dnas.arch.architecture import Architecture
from dnas.estimators.fitting import grid_minimum
from dnas.estimators.monomial import ROUNDOFF, Equation, power_law, pruned_lstsq
from dnas.spaces.expression.network import ExpressionNetwork

#: ``1 ± t`` must stay this far from 0 on every row for its logarithm to be a column
MARGIN = 1e-6
#: a factor ``1 ± t`` that changes sign is one of the law only to the power 1, within this
SIGNED = 1e-3
#: the scaled shifts ``(1 + s·t)^q`` are searched only when no law is this close already
SCALED = 1e-18


@dataclass(frozen=True)
class Term:
    """The simple term ``t``: ``u^m`` of ``u = x_j`` (``k is None``), ``x_j/x_k``, (``product``)
    ``x_j·x_k`` or (``trig``) ``x_j·sin x_k``; or, with ``unary`` set, ``sin u`` / ``cos u``
    (``m = 1``), a factor of the law itself, where ``u`` may also be (``sign``) ``x_j ± x_k``
    (``x1·sin(x2 - x3)``)."""

    j: int
    k: int | None = None
    m: int = 1
    unary: str | None = None
    product: bool = False
    #: ``u = x_j·sin x_k`` or ``x_j·cos x_k`` (``1 + α·cos θ``)
    trig: str | None = None
    #: ``u = x_j + sign·x_k`` (``sign`` ±1; only with ``unary``)
    sign: int = 0

    def value(self, X: np.ndarray) -> np.ndarray:
        u = X[:, self.j]
        if self.trig is not None:
            assert self.k is not None
            u = u * (np.sin(X[:, self.k]) if self.trig == "sin" else np.cos(X[:, self.k]))
        elif self.sign:
            assert self.k is not None
            u = u + self.sign * X[:, self.k]
        elif self.k is not None:
            u = u * X[:, self.k] if self.product else u / X[:, self.k]
        if self.unary is not None:
            return np.sin(u) if self.unary == "sin" else np.cos(u)
        return u ** self.m


@dataclass
class FactoredLaw:
    """``y ≈ c · Π x_i^p_i · Π_f g_f(t)``: ``exponents`` ``{column: p_i}`` (strongest first),
    ``outer`` the factors of ``t`` as ``(kind, q)``: ``plus`` ``(1 + t)^q``, ``minus``
    ``(1 - t)^q`` (``(t - 1)^q`` where ``t > 1``: ``flipped``), ``plus1``, ``minus1`` the
    factors ``1 + t``, ``1 - t`` that change sign (power 1), ``shift`` ``(1 + s·t)^q``
    (``s = shift``), ``exp`` ``exp(q·t)``, ``expm1`` ``1 - exp(q·t)`` (power 1), ``unary`` the
    factor ``t = f(u)`` itself, ``square`` its square (``cos² θ``); ``mse`` its error on ``y``."""

    const: float
    exponents: dict[int, float]
    term: Term | None = None
    outer: tuple[tuple[str, float], ...] = ()
    mse: float = float("inf")
    flipped: bool = False  # ``minus`` reads ``t - 1`` (t > 1 on every row)
    shift: float = 1.0

    def predict(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.full(len(X), self.const)
            for i, p in self.exponents.items():
                out = out * X[:, i] ** p
            if self.term is not None:
                t = self.term.value(X)
                for kind, q in self.outer:
                    out = out * _outer_value(kind, q, t, self.flipped, self.shift)
        return out

    @property
    def n_nodes(self) -> int:
        """The expression-graph nodes the law needs (:func:`factored_start`)."""
        edges = len(self.exponents) + len(self.outer)
        chain = max(1, edges - 1)
        return (chain + (1 if self._needs_term_node else 0) + (1 if self._needs_unary_node else 0)
                + (1 if self._needs_exp_node else 0))

    @property
    def _needs_exp_node(self) -> bool:
        """Whether ``exp(q·t)`` needs a node of its own (read by ``1 - exp(q·t)``)."""
        return any(kind == "expm1" for kind, _ in self.outer)

    @property
    def _needs_unary_node(self) -> bool:
        """Whether ``t = f(u)`` needs a node of its own (read by a factor other than itself:
        ``(1 - cos u)``, ``sin² u``)."""
        return (self.term is not None and self.term.unary is not None
                and any(kind != "unary" for kind, _ in self.outer))

    @property
    def _needs_term_node(self) -> bool:
        """Whether ``u^m`` needs a node of its own (an input itself is read by its factors)."""
        t = self.term
        return t is not None and not (t.k is None and t.m == 1)


def _outer_value(kind: str, q: float, t: np.ndarray, flipped: bool, shift: float
                 ) -> np.ndarray:
    if kind == "shift":
        return (1 + shift * t) ** q
    if kind == "plus":
        return (1 + t) ** q
    if kind == "minus":
        return (t - 1) ** q if flipped else (1 - t) ** q
    if kind == "exp":
        return np.exp(q * t)
    if kind == "expm1":
        return 1 - np.exp(q * t)
    if kind in ("plus1", "minus1"):  # signed, to the power 1
        return 1 + t if kind == "plus1" else 1 - t
    if kind == "square":
        return t * t
    return t  # unary: the signed factor itself


def _terms(X: np.ndarray) -> list[Term]:
    d = X.shape[1]
    out = [Term(j, None, m) for j in range(d) for m in (1, 2)]
    ratios = [(j, k) for j in range(d) for k in range(d) if j != k and not np.any(X[:, k] == 0)]
    products = [(j, k) for j in range(d) for k in range(j + 1, d)]
    out += [Term(j, k, m) for j, k in ratios for m in (1, 2)]
    out += [Term(j, k, m, product=True) for j, k in products for m in (1, 2)]
    out += [Term(j, k, trig=f) for j in range(d) for k in range(d) if j != k
            for f in ("sin", "cos")]
    for f in ("sin", "cos"):
        out += [Term(j, unary=f) for j in range(d)]
        out += [Term(j, k, unary=f) for j, k in ratios]
        out += [Term(j, k, unary=f, product=True) for j, k in products]
        out += [Term(j, k, unary=f, sign=s) for j, k in products for s in (1, -1)]
    return out


def _solve(target: np.ndarray, columns: list[np.ndarray], spread: float
           ) -> tuple[float, dict[int, float]] | None:
    """(intercept, {column index: coefficient}) of the pruned least squares, or None."""
    solved = pruned_lstsq(target, columns, spread=spread)
    return None if solved is None else solved[:2]


def factored_law(X: np.ndarray, y: np.ndarray) -> FactoredLaw | None:
    """The best factored law of the data by its error on ``y`` (the plain power law among them),
    or None where ``y`` is 0 on more than a tenth of the rows or no column is positive."""
    rows = y != 0
    if len(y) < 3 or rows.sum() < 0.9 * len(y) or not np.all(np.isfinite(X)):
        return None
    positive = [i for i in range(X.shape[1]) if np.all(X[:, i] > 0)]
    Xr, yr = X[rows], y[rows]
    target = np.log(np.abs(yr))
    spread = float(np.std(target)) or 1.0
    logs = [np.log(Xr[:, i]) for i in positive]
    best: FactoredLaw | None = None
    tie = ROUNDOFF * max(float(np.var(y)), 1e-300)  # errors below this are all equal
    terms = _terms(Xr)

    def consider(law: FactoredLaw) -> None:
        nonlocal best
        pred = law.predict(X)
        if not np.all(np.isfinite(pred)):
            return
        # the constant (and the sign of y) by least squares on y itself
        scale = float(np.dot(pred, y) / max(np.dot(pred, pred), 1e-300))
        law.const *= scale
        law.mse = float(np.mean((scale * pred - y) ** 2))
        if best is None or _better(law, best, tie, len(y), len(terms)):
            best = law

    plain = power_law(X, y)  # the law without a term (its constant is refitted by consider)
    if plain is not None and plain[1]:
        consider(FactoredLaw(1.0, plain[1]))
    with np.errstate(all="ignore"):
        for term in terms:
            t = term.value(Xr)
            if not np.all(np.isfinite(t)):
                continue
            if term.unary is not None:
                _unary_laws(term, t, target, logs, positive, spread, consider, np.abs(yr))
                continue
            extra: list[tuple[str, np.ndarray]] = []
            if np.all(1 + t > MARGIN):
                extra.append(("plus", np.log(1 + t)))
            elif np.all(np.abs(1 + t) > MARGIN):  # changes sign: the factor only to the power 1
                extra.append(("plus1", np.log(np.abs(1 + t))))
            flipped = bool(np.all(t - 1 > MARGIN))
            if flipped or np.all(1 - t > MARGIN):
                extra.append(("minus", np.log(np.abs(1 - t))))
            elif np.all(np.abs(1 - t) > MARGIN):
                extra.append(("minus1", np.log(np.abs(1 - t))))
            if np.std(t) > 0:
                extra.append(("exp", t))
            for kind, column in extra:  # a signed factor to the power 1, weighted (noise)
                if kind.endswith("1"):
                    fixed = pruned_lstsq(target - column, logs, spread=spread,
                                         weight=np.abs(yr))
                    if fixed is not None:
                        consider(FactoredLaw(1.0, _exponents(fixed[1], positive, logs), term,
                                             ((kind, 1.0),)))
            solved = _solve(target, logs + [c for _, c in extra], spread)
            if solved is None:
                continue
            outer = tuple((extra[i - len(logs)][0], q) for i, q in solved[1].items()
                          if i >= len(logs))
            signed = [q for kind, q in outer if kind.endswith("1")]
            if not outer or any(abs(q - 1) > SIGNED for q in signed):
                continue
            outer = tuple((kind, 1.0 if kind.endswith("1") else q) for kind, q in outer)
            exps = {i: q for i, q in solved[1].items() if i < len(logs)}
            consider(FactoredLaw(1.0, _exponents(exps, positive, logs), term, outer,
                                 flipped=flipped))
        if best is not None and best.mse <= SCALED * max(float(np.var(y)), 1e-300):
            return best
        for term in terms:  # (1 + s·t)^q with s solved too: K/(K + x), A/(1 + k·D)
            if term.unary is None:
                found = _scaled(term.value(Xr), target, logs, spread)
                if found is not None:
                    shift, coefs = found
                    exps = {i: q for i, q in coefs.items() if i < len(logs)}
                    if len(logs) in coefs:
                        consider(FactoredLaw(1.0, _exponents(exps, positive, logs), term,
                                             (("shift", coefs[len(logs)]),), shift=shift))
                charging = _charging(term.value(Xr), target, logs, spread)
                if charging is not None:
                    rate, exps = charging
                    consider(FactoredLaw(1.0, _exponents(exps, positive, logs), term,
                                         (("expm1", rate),)))
    return best


def _unary_laws(term: Term, t: np.ndarray, target: np.ndarray, logs: list[np.ndarray],
                positive: list[int], spread: float, consider, weight: np.ndarray) -> None:
    """The laws of a sine or cosine ``t``: the power law times ``t`` itself (signed: the exponent
    held at 1), and times ``(1 ± t)^q`` and ``t²`` (``2U·(1 - cos kd)``, ``I·cos² θ``), solved
    with every exponent free (rows weighted by ``weight`` = ``|y|`` where ``t`` itself is the
    factor: ``ln|y|`` is noisy where ``t`` crosses 0)."""
    if logs and np.all(np.abs(t) >= MARGIN):
        fixed = pruned_lstsq(target - np.log(np.abs(t)), logs, spread=spread, weight=weight)
        if fixed is not None:
            consider(FactoredLaw(1.0, _exponents(fixed[1], positive, logs), term,
                                 (("unary", 1.0),)))
    extra: list[tuple[str, np.ndarray]] = []
    if np.all(np.abs(t) >= MARGIN):
        extra.append(("square", np.log(np.abs(t))))
    extra += [(kind, np.log(1 + sign * t)) for kind, sign in (("plus", 1.0), ("minus", -1.0))
              if np.all(1 + sign * t > MARGIN)]
    solved = _solve(target, logs + [c for _, c in extra], spread) if extra else None
    if solved is None:
        return
    outer = tuple((extra[i - len(logs)][0], q) for i, q in solved[1].items() if i >= len(logs))
    square = [q for kind, q in outer if kind == "square"]
    if not outer or (square and abs(square[0] - 2) > 0.05):  # only t² of the powers of t
        return
    exps = {i: q for i, q in solved[1].items() if i < len(logs)}
    consider(FactoredLaw(1.0, _exponents(exps, positive, logs), term,
                         tuple((kind, 2.0 if kind == "square" else q) for kind, q in outer)))


def _scaled(t: np.ndarray, target: np.ndarray, logs: list[np.ndarray],
            spread: float) -> tuple[float, dict[int, float]] | None:
    """The scale ``s`` of ``ln(1 + s·t)`` (with the power law's columns) that fits ``target``
    best: a grid over six decades around ``1/median|t|`` and both signs, then golden-section
    searches (:func:`~dnas.estimators.fitting.grid_minimum`); ``(s, solved coefficients)`` or
    None."""
    if not np.all(np.isfinite(t)) or np.std(t) == 0:
        return None
    unit = 1.0 / (float(np.median(np.abs(t))) or 1.0)

    def error(sign: float, v: float) -> float:
        z = 1 + sign * unit * 10.0**v * t
        if not np.all(z > MARGIN):
            return np.inf
        design = np.column_stack([np.ones(len(t)), *logs, np.log(z)])
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        return float(np.mean((design @ coef - target) ** 2))

    best: tuple[float, float, float] | None = None  # (error, sign, v)
    for sign in (1.0, -1.0):
        v = grid_minimum(lambda v, sign=sign: error(sign, v), np.arange(-3.0, 3.0 + 1e-9, 0.125))
        e = np.inf if v is None else error(sign, v)
        if v is not None and (best is None or e < best[0]):
            best = (e, sign, v)
    if best is None:
        return None
    shift = float(best[1] * unit * 10.0 ** best[2])
    solved = _solve(target, [*logs, np.log(1 + shift * t)], spread)
    return None if solved is None else (shift, solved[1])


def _charging(t: np.ndarray, target: np.ndarray, logs: list[np.ndarray],
              spread: float) -> tuple[float, dict[int, float]] | None:
    """The rate ``q`` of the factor ``1 - exp(q·t)`` (to the power 1: ``ln|1 - e^{q·t}|``
    subtracted, the power law's columns solved) that fits ``target`` best — a grid over four
    decades of ``|q|·median|t|`` and both signs, then golden sections — and the solved
    coefficients; None where ``t`` is 0 on some row or constant."""
    if not np.all(np.isfinite(t)) or np.std(t) == 0 or np.any(t == 0):
        return None
    unit = 1.0 / (float(np.median(np.abs(t))) or 1.0)

    def column(q: float) -> np.ndarray | None:
        with np.errstate(all="ignore"):
            z = np.abs(-np.expm1(q * t))
        return np.log(z) if np.all(np.isfinite(z) & (z > MARGIN)) else None

    # the design does not depend on q: one orthonormal basis, each error a projection
    basis, _ = np.linalg.qr(np.column_stack([np.ones(len(t)), *logs]))

    def error(q: float) -> float:
        c = column(q)
        if c is None:
            return np.inf
        r = target - c
        return float(np.mean((r - basis @ (basis.T @ r)) ** 2))

    best: tuple[float, float] | None = None  # (error, q)
    for sign in (1.0, -1.0):
        v = grid_minimum(lambda v, sign=sign: error(sign * unit * 10.0**v),
                         np.arange(-2.0, 2.0 + 1e-9, 0.125), keep=2, steps=40)
        if v is not None:
            q = sign * unit * 10.0**v
            e = error(q)
            if np.isfinite(e) and (best is None or e < best[0]):
                best = (e, q)
    if best is None:
        return None
    c = column(best[1])
    solved = None if c is None else _solve(target - c, logs, spread)
    return None if solved is None else (best[1], solved[1])


def polished(law: FactoredLaw, X: np.ndarray, y: np.ndarray) -> FactoredLaw:
    """``law`` with its constant, exponents and outer powers or rates refitted by least squares
    on ``y`` itself (Levenberg-Marquardt from the solved values). The solve fits ``ln |y|``: on
    noisy data that weighs the small values of ``y`` up and leaves a systematic error on ``y``
    that the residual-noise test (:mod:`dnas.estimators.noise`) rightly sees. The law unchanged
    where the refit does not lower its error."""
    columns = list(law.exponents)
    free = [k for k, (kind, _) in enumerate(law.outer) if not kind.endswith("1")
            and kind not in ("unary", "square")]
    theta0 = np.array([law.const, *(law.exponents[c] for c in columns),
                       *(law.outer[k][1] for k in free)], dtype=np.float64)

    def build(theta: np.ndarray) -> FactoredLaw:
        outer = list(law.outer)
        for k, q in zip(free, theta[1 + len(columns):]):
            outer[k] = (outer[k][0], float(q))
        return FactoredLaw(float(theta[0]), {c: float(p) for c, p in zip(columns, theta[1:])},
                           law.term, tuple(outer), flipped=law.flipped, shift=law.shift)

    def residual(theta: np.ndarray) -> np.ndarray:
        r = build(theta).predict(X) - y
        return np.where(np.isfinite(r), r, 1e150)

    try:
        with np.errstate(all="ignore"):
            fit = least_squares(residual, theta0, method="lm", max_nfev=100 * len(theta0))
    except (ValueError, np.linalg.LinAlgError):
        return law
    better = build(fit.x)
    better.mse = float(np.mean(residual(fit.x) ** 2))
    return better if np.isfinite(better.mse) and better.mse < law.mse else law


def _constants(law: FactoredLaw) -> int:
    """The law's fitted constants: its factor, the exponents, each outer factor's power or rate
    and the shift of ``(1 + s·t)^q``."""
    return (1 + len(law.exponents) + len(law.outer)
            + sum(1 for kind, _ in law.outer if kind == "shift"))


def _penalty(law: FactoredLaw, n: int, n_terms: int) -> float:
    """The factor on the law's error for its constants and its term: ``exp(pen / n)`` with the
    BIC's ``ln n`` per constant and, for a term picked among ``n_terms``, the risk inflation
    criterion's ``2 ln n_terms`` (Foster and George, 1994): on noisy data the best of many
    spurious factors lowers the error by about ``2 ln n_terms / n``, and must not win by it."""
    pen = _constants(law) * math.log(n)
    if law.term is not None:
        pen += 2.0 * math.log(max(n_terms, 2))
    return math.exp(pen / n)


def _better(law: FactoredLaw, best: FactoredLaw, tie: float, n: int, n_terms: int) -> bool:
    """Whether ``law`` beats ``best``: a clearly smaller penalised error (:func:`_penalty`), or
    an equal one (within 1 %, or both at round-off) with fewer graph nodes, then fewer
    factors."""
    a = max(law.mse, tie) * _penalty(law, n, n_terms)
    b = max(best.mse, tie) * _penalty(best, n, n_terms)
    if a < 0.99 * b:
        return True
    size = (law.n_nodes, len(law.exponents) + len(law.outer))
    return a <= 1.01 * b and size < (best.n_nodes, len(best.exponents) + len(best.outer))


def _exponents(coefs: dict[int, float], positive: list[int], logs: list[np.ndarray]
               ) -> dict[int, float]:
    """``{input column: exponent}`` from the solved log columns, strongest effect first."""
    found = {positive[i]: q for i, q in coefs.items() if i < len(logs)}
    return dict(sorted(found.items(),
                       key=lambda kv: -abs(kv[1]) * float(np.std(logs[positive.index(kv[0])]))))


def factored_start(network: ExpressionNetwork, X: np.ndarray, y: np.ndarray,
                   law: FactoredLaw | None = None
                   ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]] | None:
    """The data's factored law as an equation of ``network``: ``(architecture, outputs, init)``
    for :class:`~dnas.estimators.fitting.Evaluator`, or None when there is no such law, it has no
    factor of a term (the power law start covers it), or ``network`` lacks what it needs.

    The graph: ``k1 = u^m`` where that is not an input itself (``x_j²`` by ``square``, a ratio or
    product by a ``div`` or ``mul`` node of ``mult`` or ``square`` edges); the factors of ``t``
    (``linear_power`` for ``(±t + 1)^q``, ``exp`` for ``exp(q·t)``, ``linear_sin`` /
    ``linear_cos`` of ``u``) and the
    inputs' powers (``power``), strongest first, are multiplied by a chain of nodes — two in the
    first, one more in each next (``k_j = mult(k_{j-1}) · factor``). With more factors than the
    graph has room for the weakest are left out."""
    law = law if law is not None else factored_law(X, y)
    if law is None or law.term is None:
        return None
    term = law.term
    node_term = law._needs_term_node
    need = {"power", "mult"}
    need |= {"linear_power" for k, _ in law.outer if k in ("plus", "minus", "shift")}
    need |= {"exp" for k, _ in law.outer if k in ("exp", "expm1")}
    need |= {"linear" for k, _ in law.outer if k == "expm1"}
    need |= {"linear" for k, _ in law.outer if k in ("plus1", "minus1")}
    if term.unary is not None:
        need.add(f"linear_{term.unary}")
    if term.trig is not None:
        need.add(f"linear_{term.trig}")
    if (node_term and term.m == 2) or any(k == "square" for k, _ in law.outer):
        need.add("square")
    ops = set(network.node_ops)
    joint = "add" if term.sign else "mul" if term.product or term.trig else "div"
    if (not need <= set(network.primitives) or "mul" not in ops
            or (node_term and term.k is not None and joint not in ops)):
        return None
    inputs = network.sources(1)
    eq = Equation(network)
    node = 0
    source = inputs[term.j]  # what the factors of t read
    if node_term:  # k1 = u^m
        pick, one = ("square", {"c": 1.0}) if term.m == 2 else ("mult", {"a": 1.0})
        eq.edge(f"k1_a_{inputs[term.j]}", pick, one)
        if term.trig is not None:
            assert term.k is not None
            eq.edge(f"k1_b_{inputs[term.k]}", f"linear_{term.trig}",
                    {"c": 1.0, "a": 1.0, "b": 0.0})
            eq.node(1, "mul")
        elif term.k is not None:
            eq.edge(f"k1_b_{inputs[term.k]}", pick, {"a": float(term.sign)} if term.sign else one)
            eq.node(1, joint)
        node, source = 1, "k1"
    unit = {"c": 1.0, "a": 1.0, "b": 0.0}
    if law._needs_unary_node:  # t = f(u) in a node of its own, read by its factors
        node += 1
        if node > network.n_nodes:
            return None
        eq.edge(f"k{node}_a_{source}", f"linear_{term.unary}", dict(unit))
        source = f"k{node}"
    rate = dict(law.outer).get("expm1")
    if rate is not None:  # exp(q·t) in a node of its own, read by 1 - exp(q·t)
        node += 1
        if node > network.n_nodes:
            return None
        eq.edge(f"k{node}_a_{source}", "exp", {"c": 1.0, "a": rate})
        grown = f"k{node}"
    factors: list[tuple[str, str, dict[str, float]]] = []  # (source, primitive, coefficients)
    for kind, q in law.outer:
        if kind == "expm1":
            factors.append((grown, "linear", {"a": -1.0, "b": 1.0}))
        elif kind == "unary":
            factors.append((source, f"linear_{term.unary}", dict(unit)))
        elif kind == "square":
            factors.append((source, "square", {"c": 1.0}))
        elif kind in ("plus1", "minus1"):
            factors.append((source, "linear", {"a": 1.0 if kind == "plus1" else -1.0,
                                               "b": 1.0}))
        elif kind == "exp":
            factors.append((source, "exp", {"c": 1.0, "a": q}))
        else:
            if kind == "shift":
                a, b = law.shift, 1.0
            elif kind == "plus":
                a, b = 1.0, 1.0
            else:
                a, b = (1.0, -1.0) if law.flipped else (-1.0, 1.0)
            factors.append((source, "linear_power", {"c": 1.0, "a": a, "b": b, "p": q}))
    factors += [(inputs[i], "power", {"c": 1.0, "a": p}) for i, p in law.exponents.items()]
    first = node + 1
    if first > network.n_nodes:
        return None
    if factors[0][1] == "linear":  # a·x + b has no outer scale: the constant scales both
        factors[0][2].update(a=law.const * factors[0][2]["a"], b=law.const * factors[0][2]["b"])
    else:
        factors[0][2]["c"] = law.const
    eq.edge(f"k{first}_a_{factors[0][0]}", factors[0][1], factors[0][2])
    if len(factors) > 1:
        eq.edge(f"k{first}_b_{factors[1][0]}", factors[1][1], factors[1][2])
        eq.node(first, "mul")
    last = first
    for src, primitive, values in factors[2:]:
        if last + 1 > network.n_nodes:
            break
        last += 1
        eq.edge(f"k{last}_a_k{last - 1}", "mult", {"a": 1.0})
        eq.edge(f"k{last}_b_{src}", primitive, values)
        eq.node(last, "mul")
    return eq.result(tuple(j == last for j in range(1, network.n_nodes + 1)))


__all__ = ["FactoredLaw", "Term", "factored_law", "factored_start"]
