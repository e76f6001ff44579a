"""The expression search space: a DARTS computation graph over input variables.

Nodes ``k_1 .. k_N`` follow the inputs ``x_1 .. x_d`` (AutoRA's DARTS theorist; Liu et al. 2019
for the cell). Every node combines two *operands*, each a sum of one edge per predecessor::

    A_j = Σ_{i<j} e^A_ij(s_i),   B_j = Σ_{i<j} e^B_ij(s_i),   s = (x_1..x_d, k_1..k_{j-1})
    k_j = A_j + B_j  |  A_j · B_j  |  A_j / B_j           (the node's combination choice)
    y   = Σ_j c_j k_j + b                                 (c_j, b learned or fixed)

A node may also be hidden from the output (``out_mask``), so that it only feeds later nodes.

Each edge ``e`` is a :class:`~dnas.LayerChoice` over symbolic primitives (with learned
coefficients) and each node's combination is a :class:`~dnas.LayerChoice` over ``add``/``mul``/
``div``, so sums, products and ratios of inputs and of intermediate nodes are all in the space and
every relaxation of the core can drive it. With ``node_ops=("add",)`` a node is AutoRA's
``k_j = Σ_i e_ij(s_i)`` exactly (one operand).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import sympy
import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.runtime.checks import check_int
from dnas.space.binding import bind
from dnas.space.modules import LayerChoice
from dnas.spaces.expression.graph import Edge, Node, Reading, chosen, fold, walk
from dnas.spaces.expression.primitives import (
    DEFAULT_PRIMITIVES,
    Primitive,
    check_primitives,
    make_primitive,
    safe_denominator,
)

NODE_OPS = ("add", "mul", "div")


#: a relaxed node's value beyond ``±RELAXED_BOUND`` grows only logarithmically (below it, the
#: value itself, bit for bit): a mixture holds every candidate at once — cubes, exps and products
#: of the nodes before — so without a bound three nodes overflow float64 on the first batch. A
#: compressed node is below ``B·(1 + ln(1e308/B)) ≈ 6.1e47``: a candidate of it reaches ``~2e143``
#: (a cube), a product of two ``~5e286``, still finite, as is the squared error. So high a bound
#: leaves a search whose values stay below it as it was, bit for bit (the one- and two-node
#: searches of the equations benchmark). In float32 nothing reaches it: no change there. A chosen
#: equation's nodes are not compressed: its value is its SymPy form's.
RELAXED_BOUND = 1e45


def node_of(edge_label: str) -> str:
    """The node an edge label belongs to: ``"k2"`` for ``"k2_a_x1"``."""
    return edge_label.split("_", 1)[0]


def op_label(node: str) -> str:
    """The label of a node's combination choice: ``"k2_op"``."""
    return f"{node}_op"


def _dense(edge: nn.Module) -> bool:
    """Whether ``edge`` is a choice mixed by the weighted sum of all its candidates."""
    return isinstance(edge, LayerChoice) and edge.arch.relaxation.fused_weighted_sum


class Combine(nn.Module):
    """A node's combination of its two operands."""

    def __init__(self, op: str) -> None:
        super().__init__()
        if op not in NODE_OPS:
            raise ValueError(f"node op {op!r} is not one of {NODE_OPS}")
        self.op = op

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.op == "add":
            return a + b
        if self.op == "mul":
            return a * b
        return a / safe_denominator(b)

    def sympy(self, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        if self.op == "add":
            return a + b
        if self.op == "mul":
            return a * b
        return a / b

    def extra_repr(self) -> str:
        return self.op


class ExpressionNetwork(nn.Module):
    """A DARTS graph whose edges choose among symbolic primitives.

    Parameters
    ----------
    n_inputs : int
        Number of input variables ``d``.
    n_nodes : int, default 1
        Number of intermediate nodes ``N`` (AutoRA's ``num_graph_nodes``).
    primitives : sequence of str
        Candidate primitive names on every edge (see :func:`primitive_names`).
    node_ops : sequence of {"add", "mul", "div"}, default ("add", "mul", "div")
        Candidate combinations of a node's two operands; ``("add",)`` gives AutoRA's graph.
    train_coefficients : bool, default False
        Learn the output coefficients ``c_j`` (else fixed at 1).
    train_bias : bool, default True
        Learn the output bias ``b`` (else fixed at 0).

    Attributes
    ----------
    edges : nn.ModuleDict
        ``label -> LayerChoice`` (or the chosen primitive, once fixed). Labels read
        ``k{j}_{operand}_{source}``, e.g. ``k1_a_x2``.
    combine : nn.ModuleDict
        ``k{j} -> LayerChoice`` over :class:`Combine` (or a :class:`Combine` once fixed).
    """

    def __init__(
        self,
        n_inputs: int,
        n_nodes: int = 1,
        primitives: Sequence[str] = DEFAULT_PRIMITIVES,
        node_ops: Sequence[str] = NODE_OPS,
        train_coefficients: bool = False,
        train_bias: bool = True,
    ) -> None:
        super().__init__()
        check_int("n_inputs", n_inputs, 1)
        check_int("n_nodes", n_nodes, 1)
        self.primitives = check_primitives(primitives)
        node_ops = tuple(node_ops)
        bad = [o for o in node_ops if o not in NODE_OPS]
        if not node_ops or bad or len(set(node_ops)) != len(node_ops):
            raise ValueError(f"node_ops={list(node_ops)!r} must be distinct names from {NODE_OPS}")
        self.n_inputs, self.n_nodes, self.node_ops = n_inputs, n_nodes, node_ops
        # primitives a weighted sum has to evaluate (`none` adds 0 whatever its weight)
        self._evaluated = [p for p, name in enumerate(self.primitives) if name != "none"]
        self.operands = ("a",) if node_ops == ("add",) else ("a", "b")
        self.edges: nn.ModuleDict = nn.ModuleDict()
        self.combine = nn.ModuleDict()
        for j in range(1, n_nodes + 1):
            for o in self.operands:
                for src in self.sources(j):
                    label = f"k{j}_{o}_{src}"
                    self.edges[label] = LayerChoice(
                        {p: make_primitive(p) for p in self.primitives}, label=label
                    )
            if len(self.operands) == 1:
                self.combine[f"k{j}"] = Combine("add")
            elif len(node_ops) == 1:
                self.combine[f"k{j}"] = Combine(node_ops[0])
            else:
                self.combine[f"k{j}"] = LayerChoice(
                    {op: Combine(op) for op in node_ops}, label=op_label(f"k{j}")
                )
        self.out_weight = nn.Parameter(torch.ones(n_nodes), requires_grad=bool(train_coefficients))
        self.out_bias = nn.Parameter(torch.zeros(()), requires_grad=bool(train_bias))
        # which nodes feed the output: all in the search; the discrete refinement may hide a node
        # that only later nodes read (x1·x2·x3 as k1 = x1·x2, k2 = k1·x3, y = k2)
        self.out_mask: torch.Tensor
        self.register_buffer("out_mask", torch.ones(n_nodes))

    def sources(self, j: int) -> list[str]:
        """Names of node ``k_j``'s predecessors: ``x1..xd, k1..k{j-1}``."""
        return [f"x{i}" for i in range(1, self.n_inputs + 1)] + [f"k{i}" for i in range(1, j)]

    def nodes(self, X: torch.Tensor) -> list[torch.Tensor]:
        """The values of ``k_1 .. k_N`` (each ``(n, 1)``) for inputs ``X`` of shape ``(n, d)``.

        Edges see ``(n, 1)`` columns, a (batch, channels) tensor, so relaxations written for
        feature maps (partial channels, moving-average gates) apply unchanged. When every edge of
        a node is relaxed by a weighted sum of all candidates (DARTS, Fair DARTS, DrNAS) the node
        is evaluated in one pass over all its edges (:meth:`_dense_node`): same values and
        gradients, a fraction of the operations.
        """
        inputs = {s: X[:, i : i + 1] for i, s in enumerate(self.sources(1))}
        return fold(walk(self, relaxed=True), inputs, _TorchReading(self))

    def _dense_node(self, edges: list[LayerChoice], sources: list[torch.Tensor]):
        """Every edge of one node at once: each primitive evaluated on all edges with stacked
        coefficients, mixed by the stacked weights; returns the node's operands, each ``(n, 1)``.
        ``edges`` run operand by operand, ``sources[e]`` is what edge ``e`` reads.
        """
        x = torch.cat(sources, dim=1)  # (n, E): edge e reads column e
        if not self._evaluated:  # every candidate is `none`
            return [x.new_zeros(x.shape[0], 1) for _ in self.operands]
        weights = torch.stack([e.arch.weights() for e in edges])  # (E, P)
        values = []
        for p in self._evaluated:
            cands = [cast(Primitive, e.candidates[self.primitives[p]]) for e in edges]
            coefs = {c: torch.stack([getattr(m, c) for m in cands])
                     for c, _ in cands[0].coefficients}
            values.append(type(cands[0]).evaluate(x, **coefs).to(weights.dtype))
        if len(self._evaluated) < len(self.primitives):
            weights = weights[:, self._evaluated]
        mixed = (torch.stack(values, dim=-1) * weights).sum(-1)  # (n, E)
        return list(mixed.view(x.shape[0], len(self.operands), -1).sum(-1, keepdim=True).unbind(1))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``y = Σ_j m_j c_j k_j + b`` (``m = out_mask``), shape ``(n,)``."""
        k = torch.cat(self.nodes(X), dim=1)
        weight = (self.out_weight * self.out_mask).to(k.dtype)
        return k @ weight + self.out_bias.to(k.dtype)

    # ------------------------------------------------------------------ architecture
    def derive_architecture(self) -> Architecture:
        """AutoRA's ``max`` rule: the most likely candidate of every label, ``none`` included."""
        chosen, probs = {}, {}
        for label, g in bind(self).items():
            p = g.probabilities().float()
            chosen[label] = [g.names[int(torch.argmax(p))]]
            probs[label] = [round(float(v), 6) for v in p.tolist()]
        return Architecture(chosen, meta={"probabilities": probs})

    def sample_architecture(self, generator: torch.Generator | None = None) -> Architecture:
        """One candidate per label drawn from the softmax of its logits (AutoRA's ``sample``)."""
        chosen = {}
        for label, g in bind(self).items():
            p = torch.softmax(g.alpha.detach().double().cpu(), dim=-1)
            chosen[label] = [g.names[int(torch.multinomial(p, 1, generator=generator))]]
        return Architecture(chosen, meta={"sampled": True})

    # ------------------------------------------------------------------ symbolic form
    def sympy(
        self,
        symbols: Sequence[sympy.Symbol],
        parameters: dict | None = None,
        architecture: Architecture | None = None,
        use_bias: bool = True,
    ) -> sympy.Expr:
        """The network as a SymPy expression in ``symbols`` (one per input).

        Parameters
        ----------
        symbols : sequence of sympy.Symbol
        parameters : dict, optional
            When given, every trainable coefficient appears as a symbol ``theta_i`` instead of its
            value, and the dict is filled with ``{theta_i: (nn.Parameter, index)}`` (``index``:
            ``None`` for a scalar), in the order of :func:`~dnas.spaces.expression.graph.walk`'s
            edges, then the output weights, then the bias.
        architecture : Architecture, optional
            Read the choices of a relaxed network from it (without copying the network); without
            it the network must be fixed (:func:`dnas.fix`).
        use_bias : bool, default True
            ``False`` reads the output bias as 0.
        """
        if len(symbols) != self.n_inputs:
            raise ValueError(f"need {self.n_inputs} symbols, got {len(symbols)}")

        def value(p: nn.Parameter, index: int | None = None) -> sympy.Expr:
            v = p.detach() if index is None else p.detach()[index]
            if parameters is None or not p.requires_grad:
                return sympy.Float(float(v))
            theta = sympy.Symbol(f"theta_{len(parameters)}", real=True)
            parameters[theta] = (p, index)
            return theta

        graph = walk(self, architecture)
        values = fold(graph, dict(zip(self.sources(1), symbols)), SympyReading(value))
        total: sympy.Expr = sympy.Integer(0)
        for node, k in zip(graph, values):
            if node.output:
                total = total + value(self.out_weight, node.index) * k
        return total + (value(self.out_bias) if use_bias else sympy.Integer(0))


class _TorchReading(Reading[torch.Tensor]):
    """The forward pass: each edge's module on its source (or a node's edges all at once)."""

    def __init__(self, network: ExpressionNetwork) -> None:
        self.network = network

    def edge(self, edge: Edge, x: torch.Tensor) -> torch.Tensor:
        return edge.module(x)

    def total(self, terms: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(terms).sum(0) if len(terms) > 1 else terms[0]

    def operands(self, node: Node, states: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        edges = [e for operand in node.operands for e in operand]
        if all(_dense(e.module) for e in edges):
            return self.network._dense_node([cast(LayerChoice, e.module) for e in edges],
                                            [states[e.source] for e in edges])
        return super().operands(node, states)

    def combine(self, node: Node, operands: list[torch.Tensor]) -> torch.Tensor:
        value = node.combine(*operands) if len(operands) == 2 else operands[0]
        if _relaxed(node):  # a mixture of every candidate: keep it finite (see RELAXED_BOUND)
            value = _compress(value)
        return value


def _compress(value: torch.Tensor) -> torch.Tensor:
    """``k`` where ``|k| ≤ B``, else ``sign(k)·B·(1 + ln(|k|/B))`` (``B = RELAXED_BOUND``):
    continuous with its slope, monotone, and never flat, so the gradient still pushes the
    architecture away from the candidates that explode."""
    size = value.abs()
    big = size > RELAXED_BOUND
    logged = torch.sign(value) * RELAXED_BOUND * (1 + torch.log(torch.where(big, size, 1.0)
                                                                  / RELAXED_BOUND))
    return torch.where(big, logged, value)


def _relaxed(node: Node) -> bool:
    """Whether ``node`` still mixes candidates (a relaxed walk), not a chosen equation's node."""
    return isinstance(node.combine, LayerChoice) or any(
        isinstance(e.module, LayerChoice) for operand in node.operands for e in operand)


class SympyReading(Reading[sympy.Expr]):
    """The SymPy form: each edge's primitive applied to its source's expression.

    ``value(parameter)`` gives what a coefficient reads as (its value, or a symbol standing for
    it); by default its value.
    """

    def __init__(self, value: Callable[[nn.Parameter], sympy.Expr] | None = None) -> None:
        self.value = value or (lambda p: sympy.Float(float(p.detach())))

    def edge(self, edge: Edge, x: sympy.Expr) -> sympy.Expr:
        module = edge.primitive
        return module.sympy(x, {n: self.value(getattr(module, n)) for n, _ in module.coefficients})

    def zero(self) -> sympy.Expr:
        return sympy.Integer(0)

    def combine(self, node: Node, operands: list[sympy.Expr]) -> sympy.Expr:
        return cast(Combine, node.combine).sympy(*operands) if len(operands) == 2 else operands[0]


__all__ = ["NODE_OPS", "Combine", "ExpressionNetwork", "SympyReading", "chosen"]
