"""One architecture of an expression network as a NumPy function of its constants, with the exact
Jacobian.

The discrete refinement of :class:`dnas.DARTSRegressor` fits the constants of hundreds of
candidate equations. Building each one as a SymPy expression and compiling it (``lambdify``) costs
milliseconds, and a numeric Jacobian costs one evaluation per constant. :class:`NumericEquation`
instead reads the architecture straight off the network, evaluates it with NumPy, and carries the
derivatives along (forward mode): every primitive supplies its value and exact partial derivatives
(:meth:`~dnas.spaces.expression.Primitive.terms`), nodes combine them by the sum, product and
quotient rules. It computes what the network's own forward pass computes, guards included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.spaces.expression.network import chosen
from dnas.spaces.expression.primitives import EPS, Primitive


@dataclass(frozen=True)
class _Edge:
    source: str
    kind: type[Primitive]
    #: coefficient name -> index into theta (trainable) or fixed value (float)
    coefs: tuple[tuple[str, int | float], ...]


@dataclass(frozen=True)
class _Node:
    operands: tuple[tuple[_Edge, ...], ...]
    op: str  # "add", "mul" or "div"
    weight: int | float  # theta index of the output coefficient, or its fixed value


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

    def __init__(self, network: nn.Module, architecture: Architecture | None = None,
                 use_bias: bool = True) -> None:
        self.n_inputs = network.n_inputs
        self.slots: list[tuple[nn.Parameter, int | None]] = []
        initial: list[float] = []
        self.degenerate = False

        def slot(p: nn.Parameter, index: int | None = None, init: float = 0.0) -> int | float:
            v = p.detach() if index is None else p.detach()[index]
            if not p.requires_grad:
                return float(v)
            self.slots.append((p, index))
            initial.append(init)
            return len(self.slots) - 1

        zero = {s: False for s in network.sources(1)}  # states that are identically 0
        nodes = []
        for j in range(1, network.n_nodes + 1):
            operands, zero_operand = [], []
            for o in network.operands:
                edges = []
                for s in network.sources(j):
                    prim = chosen(network.edges[f"k{j}_{o}_{s}"], architecture)
                    if prim.name == "none":
                        continue
                    if zero[s]:
                        self.degenerate = True
                    coefs = tuple((c, slot(getattr(prim, c), init=v)) for c, v in prim.coefficients)
                    edges.append(_Edge(s, type(prim), coefs))
                operands.append(tuple(edges))
                zero_operand.append(not edges)
            op = chosen(network.combine[f"k{j}"], architecture).op if len(operands) == 2 else "add"
            if op == "div" and zero_operand[1]:
                self.degenerate = True
            zero[f"k{j}"] = (all(zero_operand) if op == "add"
                             else any(zero_operand) if op == "mul" else zero_operand[0])
            nodes.append(_Node(tuple(operands), op, slot(network.out_weight, j - 1, init=1.0)))
        self.nodes = tuple(nodes)
        self.bias = slot(network.out_bias) if use_bias else 0.0
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

        # a state is (value, its gradient in θ as a (k, n) array, or None when it has none);
        # gradients are kept row per coefficient so that a coefficient's partial is one row
        states: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
            f"x{i + 1}": (X[:, i], None) for i in range(self.n_inputs)
        }
        total, grad = np.zeros(n), np.zeros((k, n))
        for j, node in enumerate(self.nodes, start=1):
            parts = []
            for edges in node.operands:
                value, d = np.zeros(n), np.zeros((k, n))
                for e in edges:
                    x, dx = states[e.source]
                    v, dv_dx, partials = e.kind.terms(x, **{c: get(i) for c, i in e.coefs})
                    value += v
                    if dx is not None:
                        d += dv_dx * dx
                    for c, i in e.coefs:
                        if isinstance(i, int):
                            d[i] += partials[c]
                parts.append((value, d))
            if len(parts) == 1:
                (kv, kd), = parts
            else:
                (a, da), (b, db) = parts
                if node.op == "add":
                    kv, kd = a + b, da + db
                elif node.op == "mul":
                    kv, kd = a * b, da * b + a * db
                else:  # a / b with |b| kept >= EPS, as the torch forward does
                    den = np.where(b < 0, np.minimum(b, -EPS), np.maximum(b, EPS))
                    kv = a / den
                    kd = (da - kv * np.where(np.abs(b) >= EPS, 1.0, 0.0) * db) / den
            states[f"k{j}"] = (kv, kd)
            w = get(node.weight)
            total += w * kv
            grad += w * kd
            if isinstance(node.weight, int):
                grad[node.weight] += kv
        total += get(self.bias)
        if isinstance(self.bias, int):
            grad[self.bias] += 1.0
        return total, grad.T


__all__ = ["NumericEquation"]
