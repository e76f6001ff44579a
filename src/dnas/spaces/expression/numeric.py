"""One architecture of an expression network as a NumPy function of its constants, with the exact
Jacobian.

The discrete refinement of :class:`dnas.DARTSRegressor` fits the constants of hundreds of
candidate equations. Building each one as a SymPy expression and compiling it (``lambdify``) costs
milliseconds, and a numeric Jacobian costs one evaluation per constant. :class:`NumericEquation`
instead reads the architecture straight off the network (through
:func:`~dnas.spaces.expression.graph.walk`), evaluates it with NumPy, and carries the
derivatives along (forward mode): every primitive supplies its value and exact partial derivatives
(:meth:`~dnas.spaces.expression.Primitive.terms`), nodes combine them by the sum, product and
quotient rules. It computes what the network's own forward pass computes, guards included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.spaces.expression.graph import Edge, Node, Reading, fold, walk
from dnas.spaces.expression.network import ExpressionNetwork
from dnas.spaces.expression.primitives import EPS

#: a state of the forward-mode evaluation: value (n,), and its gradient in θ as a (k, n) array
#: (None for an input: it has none); gradients are kept row per coefficient so a partial is one
#: row. Node states always carry their gradient.
Jet = tuple[np.ndarray, Any]


class NumericEquation:
    """The equation of ``architecture`` on ``network``: ``f(X, θ) -> (values, ∂values/∂θ)``.

    Parameters
    ----------
    network : ExpressionNetwork
        A relaxed network (with ``architecture``) or a fixed one (without).
    architecture : Architecture, optional
        The chosen candidate of every label of a relaxed network.
    use_bias : bool, default True
        ``False`` reads the output bias as 0.
    outputs : sequence of bool, optional
        Which nodes feed the output (default: the network's ``out_mask``).

    Attributes
    ----------
    slots : list of (nn.Parameter, int or None)
        The trainable coefficient behind each entry of θ (index ``None`` for a scalar), in the
        order of :meth:`ExpressionNetwork.sympy`'s ``theta_i`` symbols.
    theta0 : ndarray
        Their current values.
    theta_initial : ndarray
        The values a fresh network starts from (each primitive's declared initial coefficients,
        output weight 1, bias 0): a neutral start for a fit, where ``theta0`` carries whatever a
        candidate learned inside the mixture.
    degenerate : bool
        The equation divides by a term that is identically 0, or applies a primitive to one (a
        simpler equation says the same); such equations are not fitted.
    """

    def __init__(self, network: ExpressionNetwork, architecture: Architecture | None = None,
                 use_bias: bool = True, outputs: Sequence[bool] | None = None) -> None:
        self.n_inputs = network.n_inputs
        self.slots: list[tuple[nn.Parameter, int | None]] = []
        initial: list[float] = []

        def slot(p: nn.Parameter, index: int | None = None, init: float = 0.0) -> int | float:
            v = p.detach() if index is None else p.detach()[index]
            if not p.requires_grad:
                return float(v)
            self.slots.append((p, index))
            initial.append(init)
            return len(self.slots) - 1

        self.nodes = walk(network, architecture, outputs=outputs)
        #: edge label -> ((coefficient name, θ index or fixed value), ...)
        self.coefs: dict[str, tuple[tuple[str, int | float], ...]] = {
            e.label: tuple((c, slot(getattr(e.module, c), init=v))
                           for c, v in e.primitive.coefficients)
            for node in self.nodes for operand in node.operands for e in operand
        }
        self.weights = [slot(network.out_weight, n.index, init=1.0) if n.output else 0.0
                        for n in self.nodes]
        self.bias = slot(network.out_bias) if use_bias else 0.0
        zero = _Zero()
        fold(self.nodes, {s: False for s in network.sources(1)}, zero)
        self.degenerate = zero.degenerate
        self.theta0 = np.array([float(p.detach() if i is None else p.detach()[i])
                                for p, i in self.slots], dtype=np.float64)
        self.theta_initial = np.array(initial, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.slots)

    def __call__(self, X: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(n,)`` and Jacobian ``(n, len(θ))`` at ``X`` of shape ``(n, d)``."""
        n, k = X.shape[0], len(self.slots)
        values = list(theta)

        def get(v: int | float) -> float:
            return values[v] if isinstance(v, int) else v

        inputs: dict[str, Jet] = {f"x{i + 1}": (X[:, i], None) for i in range(self.n_inputs)}
        nodes = fold(self.nodes, inputs, _Forward(self, get, n, k))
        total, grad = np.zeros(n), np.zeros((k, n))
        for (kv, kd), weight in zip(nodes, self.weights):
            w = get(weight)
            total += w * kv
            grad += w * kd
            if isinstance(weight, int):
                grad[weight] += kv
        total += get(self.bias)
        if isinstance(self.bias, int):
            grad[self.bias] += 1.0
        return total, grad.T


class _Forward(Reading[Jet]):
    """Values and θ-gradients by the sum, product and quotient rules."""

    def __init__(self, equation: NumericEquation, get, n: int, k: int) -> None:
        self.equation, self.get, self.n, self.k = equation, get, n, k

    def operands(self, node: Node, states: Mapping[str, Jet]) -> list[Jet]:
        # each operand accumulated in place: one (k, n) array per operand, not per edge
        parts = []
        for edges in node.operands:
            value, d = np.zeros(self.n), np.zeros((self.k, self.n))
            for e in edges:
                x, dx = states[e.source]
                coefs = self.equation.coefs[e.label]
                v, dv_dx, partials = e.primitive.terms(x, **{c: self.get(i) for c, i in coefs})
                value += v
                if dx is not None:
                    d += dv_dx * dx
                for c, i in coefs:
                    if isinstance(i, int):
                        d[i] += partials[c]
            parts.append((value, d))
        return parts

    def combine(self, node: Node, operands: list[Jet]) -> Jet:
        if len(operands) == 1:
            return operands[0]
        (a, da), (b, db) = operands
        if node.op == "add":
            return a + b, da + db
        if node.op == "mul":
            return a * b, da * b + a * db
        # a / b with |b| kept >= EPS, as the torch forward does
        den = np.where(b < 0, np.minimum(b, -EPS), np.maximum(b, EPS))
        kv = a / den
        return kv, (da - kv * np.where(np.abs(b) >= EPS, 1.0, 0.0) * db) / den


class _Zero(Reading[bool]):
    """Which states are identically 0, and whether a primitive or a division reads one."""

    def __init__(self) -> None:
        self.degenerate = False

    def edge(self, edge: Edge, is_zero: bool) -> bool:
        self.degenerate = self.degenerate or is_zero
        return False

    def total(self, terms: list[bool]) -> bool:
        return not terms

    def combine(self, node: Node, operands: list[bool]) -> bool:
        if len(operands) == 1:
            return operands[0]
        if node.op == "div":
            self.degenerate = self.degenerate or operands[1]
            return operands[0]
        return all(operands) if node.op == "add" else any(operands)


__all__ = ["NumericEquation"]
