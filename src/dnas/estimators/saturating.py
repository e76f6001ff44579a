"""Saturating laws as starts of the discrete search: ``y = c / (1 + g(x))``, ``g`` a product of
powers and exponentials of the inputs.

The family holds the psychometric and choice laws of cognitive science and the saturation laws
of biology and physics: the logistic ``1/(1 + e^{-a(x - b)})``, Luce's choice rule
``x1/(x1 + x2) = 1/(1 + x2/x1)``, a two-choice softmax, Michaelis–Menten ``V·x/(K + x)``, Hill
``x^n/(K + x^n)``. For a given asymptote ``c`` the law is linear after a transform,

    ln(c/y - 1) = ln C + Σ_i p_i ln x_i + Σ_i a_i x_i,

so one least-squares solve (negligible terms dropped) fits it; ``c`` is 1 where ``y`` lies in
(0, 1) and that fits exactly, else found by a one-dimensional search of the solve's error over
``c`` beyond ``max|y|`` (a grid over nine decades of ``c/max|y| - 1``, then golden section).
The law becomes the graph ``k = g`` (a chain of ``power`` / ``exp`` edges), then
``c·(k + 1)^-1`` (``linear_power``) in one more node (:func:`saturating_start`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import leastsq

from dnas.arch.architecture import Architecture
from dnas.estimators.fitting import grid_minimum
from dnas.estimators.monomial import ROUNDOFF, Equation, pruned_lstsq
from dnas.spaces.expression.network import ExpressionNetwork

#: ``g`` multiplies at most this many edges (the graph has room for no more)
MAX_EDGES = 3


@dataclass
class SaturatingLaw:
    """``y ≈ asymptote / (1 + const · Π x_i^powers_i · exp(Σ rates_i·x_i))``; ``mse`` on y."""

    asymptote: float
    const: float
    powers: dict[int, float]
    rates: dict[int, float]
    mse: float = float("inf")

    def predict(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            g = np.full(len(X), self.const)
            for i, p in self.powers.items():
                g = g * X[:, i] ** p
            for i, a in self.rates.items():
                g = g * np.exp(a * X[:, i])
            return self.asymptote / (1 + g)

    @property
    def n_nodes(self) -> int:
        """Nodes of the graph: the chain of ``g``'s edges, then the saturation."""
        return max(1, len(self.powers) + len(self.rates) - 1) + 1


def _fit(X: np.ndarray, y: np.ndarray, c: float, positive: list[int], prune: bool = True
         ) -> tuple[float, SaturatingLaw] | None:
    """The law for asymptote ``c``: (error of the transformed solve, law) or None where
    ``y/c`` leaves (0, 1). ``prune=False`` keeps every term (the error is then smooth in ``c``,
    as its search needs)."""
    w = y / c
    if not np.all((w > 0) & (w < 1)):
        return None
    z = np.log(1 / w - 1)
    columns = [(("p", i), np.log(X[:, i])) for i in positive]
    columns += [(("a", i), X[:, i]) for i in range(X.shape[1]) if np.std(X[:, i]) > 0]
    solved = pruned_lstsq(z, [c for _, c in columns], prunes=2 if prune else 0)
    if solved is None:
        return None
    intercept, coef, error = solved
    powers = {columns[k][0][1]: v for k, v in coef.items() if columns[k][0][0] == "p"}
    rates = {columns[k][0][1]: v for k, v in coef.items() if columns[k][0][0] == "a"}
    return error, SaturatingLaw(float(c), float(np.exp(intercept)), powers, rates)


def saturating_law(X: np.ndarray, y: np.ndarray) -> SaturatingLaw | None:
    """The best saturating law of the data by its transformed error, or None where ``y`` is
    not of one sign or the law needs more than ``MAX_EDGES`` terms."""
    if len(y) < 4 or not (np.all(y > 0) or np.all(y < 0)) or not np.all(np.isfinite(X)):
        return None
    positive = [i for i in range(X.shape[1]) if np.all(X[:, i] > 0)]
    top = float(np.max(np.abs(y))) * np.sign(y[0])
    with np.errstate(all="ignore"):
        found = _fit(X, y, 1.0, positive) if np.all((y > 0) & (y < 1)) else None
        if found is None or found[0] > ROUNDOFF * max(float(np.var(y)), 1e-300):
            def error(v: float) -> float:
                fitted = _fit(X, y, top * (1 + 10.0**v), positive, prune=False)
                return np.inf if fitted is None else fitted[0]

            v = grid_minimum(error, np.arange(-6.0, 3.0 + 1e-9, 0.125))
            other = None if v is None else _fit(X, y, top * (1 + 10.0**v), positive)
            if other is not None and (found is None or other[0] < found[0]):
                found = other
    if found is None:
        return None
    law = found[1]
    if not 0 < len(law.powers) + len(law.rates) <= MAX_EDGES:
        return None
    return _polish(law, X, y)


def _polish(law: SaturatingLaw, X: np.ndarray, y: np.ndarray) -> SaturatingLaw | None:
    """Levenberg–Marquardt on ``y`` itself from the transformed solve (the one-dimensional
    search leaves ``c`` a few digits short of what noise-free data pin down)."""
    pi, ai = list(law.powers), list(law.rates)

    def unpack(theta: np.ndarray) -> SaturatingLaw:
        k = 2 + len(pi)
        return SaturatingLaw(float(theta[0]), float(np.exp(theta[1])),
                             dict(zip(pi, map(float, theta[2:k]))),
                             dict(zip(ai, map(float, theta[k:]))))

    def residual(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            r = unpack(theta).predict(X) - y
        return np.where(np.isfinite(r), r, 1e150)

    theta0 = np.array([law.asymptote, np.log(law.const), *law.powers.values(),
                       *law.rates.values()])
    with warnings.catch_warnings():  # a polish that runs out of evaluations is still a start
        warnings.simplefilter("ignore", RuntimeWarning)
        theta, *_ = leastsq(residual, theta0, xtol=1e-15, ftol=1e-15, maxfev=200)
    polished = unpack(theta)
    with np.errstate(all="ignore"):
        law.mse = float(np.mean((law.predict(X) - y) ** 2))
        polished.mse = float(np.mean((polished.predict(X) - y) ** 2))
    best = polished if polished.mse < law.mse else law
    return best if np.isfinite(best.mse) else None


def saturating_start(network: ExpressionNetwork, law: SaturatingLaw | None
                     ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]] | None:
    """``law`` as an equation of ``network``: ``(architecture, outputs, init)``, or None where
    there is no law, the graph is too small or lacks ``power``/``exp``/``mult``/
    ``linear_power`` or the ``mul`` combination."""
    if law is None or law.n_nodes > network.n_nodes:
        return None
    edges = [(i, "power", {"c": 1.0, "a": p}) for i, p in law.powers.items()]
    edges += [(i, "exp", {"c": 1.0, "a": a}) for i, a in law.rates.items()]
    need = {kind for _, kind, _ in edges} | {"linear_power"}
    if len(edges) > 2:
        need.add("mult")
    if not need <= set(network.primitives) or (len(edges) > 1 and "mul" not in
                                                 network.node_ops):
        return None
    inputs = network.sources(1)
    eq = Equation(network)
    edges[0][2]["c"] = law.const
    eq.edge(f"k1_a_{inputs[edges[0][0]]}", edges[0][1], edges[0][2])
    if len(edges) > 1:
        eq.edge(f"k1_b_{inputs[edges[1][0]]}", edges[1][1], edges[1][2])
        eq.node(1, "mul")
    last = 1
    for i, kind, values in edges[2:]:
        last += 1
        eq.edge(f"k{last}_a_k{last - 1}", "mult", {"a": 1.0})
        eq.edge(f"k{last}_b_{inputs[i]}", kind, values)
        eq.node(last, "mul")
    out = last + 1
    eq.edge(f"k{out}_a_k{last}", "linear_power",
            {"c": law.asymptote, "a": 1.0, "b": 1.0, "p": -1.0})
    return eq.result(tuple(j == out for j in range(1, network.n_nodes + 1)))


__all__ = ["SaturatingLaw", "saturating_law", "saturating_start"]
