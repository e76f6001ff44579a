"""The cost of a search model as a tree over its choices, and its expectation under α.

With ``p_L`` the distribution over label ``L``'s candidates and choices of different labels
independent (a product distribution, as every relaxation here samples or mixes them), the
expected cost of a model is, by linearity of expectation over this tree:

    Const(c)                         E = c                       (a part without choices)
    Unit(L_1..L_m, T)                E = Σ_{i_1..i_m} T[i_1..i_m] Π_k p_{L_k}[i_k]
                                     (a part whose sizes read the value choices L_1..L_m; T[i]
                                     is the measured cost of its fixed form at those values)
    Mixed(L, children)               E = Σ_j p_L[j] · E[child_j]         (LayerChoice)
    Depth(L, d, blocks)              E = Σ_i P(depth ≥ i) · E[block_i]
                                     (P(depth ≥ i) = Σ_{d_j ≥ i} p_L[j])
    Sum(children)                    E = Σ E[child]

Each line is a polynomial in the p's, so E is differentiable in α through whatever map the
relaxation uses; at one-hot p it is exactly the cost of that discrete architecture (the same
tree evaluated with indices, :meth:`Node.exact`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


class Node:
    """A part of the model's cost."""

    def expected(self, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def exact(self, index: Mapping[str, int]) -> float:
        raise NotImplementedError

    def labels(self) -> set[str]:
        return set()


class Const(Node):
    def __init__(self, value: float) -> None:
        self.value = float(value)

    def expected(self, p):
        ref = next(iter(p.values()))
        return ref.new_tensor(self.value)

    def exact(self, index):
        return self.value


class Unit(Node):
    """Costs tabulated over every combination of some value choices' values."""

    def __init__(self, labels: Sequence[str], table: torch.Tensor) -> None:
        self.label_list = list(labels)
        self.table = table.double()

    def expected(self, p):
        ref = p[self.label_list[0]]
        t = self.table.to(device=ref.device, dtype=ref.dtype)
        for label in self.label_list:  # contract one axis per label, first axis first
            t = torch.tensordot(p[label], t, dims=([0], [0]))
        return t

    def exact(self, index):
        return float(self.table[tuple(index[label] for label in self.label_list)])

    def labels(self):
        return set(self.label_list)


class Sum(Node):
    def __init__(self, children: Sequence[Node]) -> None:
        self.children = [c for c in children if not (isinstance(c, Const) and c.value == 0)]

    def expected(self, p):
        total = Const(0).expected(p)
        for c in self.children:
            total = total + c.expected(p)
        return total

    def exact(self, index):
        return sum(c.exact(index) for c in self.children)

    def labels(self):
        return set().union(*(c.labels() for c in self.children))


class Mixed(Node):
    """A LayerChoice keeping one candidate."""

    def __init__(self, label: str, children: Sequence[Node]) -> None:
        self.label, self.children = label, list(children)

    def expected(self, p):
        costs = torch.stack([c.expected(p) for c in self.children])
        return (p[self.label] * costs).sum()

    def exact(self, index):
        return self.children[index[self.label]].exact(index)

    def labels(self):
        return {self.label}.union(*(c.labels() for c in self.children))


class Depth(Node):
    """A Repeat with a searchable depth: block ``i`` (1-based) exists when depth ≥ i."""

    def __init__(self, label: str, depths: Sequence[int], blocks: Sequence[Node]) -> None:
        self.label, self.depths, self.blocks = label, list(depths), list(blocks)

    def expected(self, p):
        q = p[self.label]
        total = Const(0).expected(p)
        for i, block in enumerate(self.blocks, start=1):
            reach = [j for j, d in enumerate(self.depths) if d >= i]
            total = total + q[reach].sum() * block.expected(p)
        return total

    def exact(self, index):
        d = self.depths[index[self.label]]
        return sum(b.exact(index) for b in self.blocks[:d])

    def labels(self):
        return {self.label}.union(*(b.labels() for b in self.blocks))


class Affine(Node):
    """``a · E[child] + b``: a calibrated cost model (:mod:`dnas.cost.calibration`)."""

    def __init__(self, child: Node, a: float, b: float) -> None:
        self.child, self.a, self.b = child, float(a), float(b)

    def expected(self, p):
        return self.a * self.child.expected(p) + self.b

    def exact(self, index):
        return self.a * self.child.exact(index) + self.b

    def labels(self):
        return self.child.labels()


__all__ = ["Affine", "Const", "Depth", "Mixed", "Node", "Sum", "Unit"]
