"""Laws that are additive after a transformation of ``y``, as starts of the discrete search.

Some laws are a sum of terms only after ``y`` is transformed: ``√(x1² + x2²)`` and
``√(x1²/x2² - π²/x3²)`` are sums when squared, ``x1^x2`` is one when logged
(``ln y = x2·ln x1``), ``ln(x + 1) + ln(x² + 1)`` when exponentiated (``x³ + x² + x + 1``), a
resistance of parallel resistors ``1/(1/x1 + 1/x2)`` when inverted. In the graph each is the
additive law (:mod:`dnas.estimators.additive`), summed in one node, read by one more node through
the inverse transformation — ``exp``, ``linear_ln``, or ``linear_power`` with ``p = ½, 2, -1`` —
whose inner shift is the sum's constant.

For each transformation defined on the data the additive law of ``T(y)`` is searched; a law that
is exact (its error on ``T(y)`` at round-off, as only noise-free data of that form give) is a
start of the discrete search (:func:`transformed_start`), like the additive law itself only
where exact: short of that, a flexible sum under a flexible inverse fits almost anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dnas.arch.architecture import Architecture
from dnas.estimators.additive import AdditiveLaw, additive_law, fits_in, nodes_needed, place
from dnas.estimators.monomial import ROUNDOFF, Equation
from dnas.spaces.expression.network import NODE_OPS, ExpressionNetwork


@dataclass(frozen=True)
class Transform:
    """``T`` with its inverse as an edge: ``primitive`` with ``coefficients(sign, bias)`` gives
    ``y = sign·T⁻¹(s + bias)`` of the sum ``s``; ``domain`` says where ``T`` is used (on
    ``sign·y``)."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]
    domain: Callable[[np.ndarray], bool]
    primitive: str
    coefficients: Callable[[float, float], dict[str, float]]


def _power(p: float) -> Callable[[float, float], dict[str, float]]:
    return lambda sign, bias: {"c": sign, "a": 1.0, "b": bias, "p": p}


TRANSFORMS: tuple[Transform, ...] = (
    Transform("ln", np.log, np.exp, lambda y: bool(np.all(y > 0)), "exp",
              lambda sign, bias: {"c": sign * float(np.exp(bias)), "a": 1.0}),
    Transform("exp", np.exp, np.log, lambda y: bool(np.all(np.abs(y) <= 30)), "linear_ln",
              lambda sign, bias: {"c": sign, "a": 1.0, "b": bias}),
    Transform("square", np.square, np.sqrt, lambda y: bool(np.all(y > 0)), "linear_power",
              _power(0.5)),
    Transform("sqrt", np.sqrt, np.square, lambda y: bool(np.all(y > 0)), "linear_power",
              _power(2.0)),
    Transform("reciprocal", np.reciprocal, np.reciprocal, lambda y: bool(np.all(y > 0)),
              "linear_power", _power(-1.0)),
)


@dataclass
class TransformedLaw:
    """``y ≈ sign·T⁻¹(law(X))``; ``mse`` its error on ``y``."""

    transform: Transform
    sign: float
    law: AdditiveLaw
    mse: float

    @property
    def n_nodes(self) -> int:
        """The additive law's nodes, summed in one (:func:`~dnas.estimators.additive.place`),
        and the node of the inverse."""
        return nodes_needed(self.law.features, aggregate=True) + 1

    def predict(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.sign * self.transform.inverse(self.law.predict(X))


def transformed_law(X: np.ndarray, y: np.ndarray, primitives: tuple[str, ...], max_nodes: int,
                    node_ops: tuple[str, ...] = NODE_OPS) -> TransformedLaw | None:
    """The exact law ``sign·T⁻¹(sum of terms)`` of the fewest nodes (at most ``max_nodes``), or
    None where no transformation of ``y`` is exactly additive."""
    if max_nodes < 2 or not np.all(np.isfinite(y)):
        return None
    best: TransformedLaw | None = None
    for transform in TRANSFORMS:
        if transform.primitive not in primitives:
            continue
        for sign in (1.0, -1.0):
            if not transform.domain(sign * y):
                continue
            with np.errstate(all="ignore"):
                target = transform.forward(sign * y)
            if not np.all(np.isfinite(target)) or np.std(target) == 0:
                continue
            law = additive_law(X, target, primitives, max_nodes - 1, node_ops=node_ops,
                               aggregate=True)
            if law is None or law.mse > ROUNDOFF * float(np.var(target)):
                continue
            found = TransformedLaw(transform, sign, law, 0.0)
            pred = found.predict(X)
            if not np.all(np.isfinite(pred)):
                continue
            found.mse = float(np.mean((pred - y) ** 2))
            if best is None or (found.n_nodes, len(law.features)) < (
                    best.n_nodes, len(best.law.features)):
                best = found
    return best


def transformed_start(network: ExpressionNetwork, law: TransformedLaw | None
                      ) -> tuple[Architecture, tuple[bool, ...], dict[Any, float]] | None:
    """``law`` as nodes of ``network``: the additive law summed in one node, the next node its
    inverse transformation (the sum's constant its inner shift; the output bias 0):
    ``(architecture, outputs, init)``, or None where there is no law, the network lacks what it
    needs or has too few nodes."""
    if (law is None or law.transform.primitive not in network.primitives
            or not fits_in(network, law.law) or law.n_nodes > network.n_nodes):
        return None
    eq = Equation(network)
    total = place(eq, law.law, aggregate=True)[-1]
    last = total + 1
    eq.edge(f"k{last}_a_k{total}", law.transform.primitive,
            law.transform.coefficients(law.sign, law.law.bias))
    eq.init[(id(network.out_bias), None)] = 0.0
    return eq.result(tuple(j == last for j in range(1, network.n_nodes + 1)))


__all__ = ["TRANSFORMS", "Transform", "TransformedLaw", "transformed_law", "transformed_start"]
