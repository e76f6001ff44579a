"""The NAS-Bench-201 network (Dong & Yang, 2020, section 2.1 and figure 1), 1-D or 2-D.

A stem (3-wide convolution + BatchNorm to ``C`` channels) feeds three stages of ``N`` cells at
``C``, ``2C`` and ``4C`` channels; between stages a residual reduction block halves the resolution
and doubles the channels::

    block(x) = conv_b(conv_a(x)) + conv1x1(avgpool2(x))     conv_a: ReLU-conv3-BN at stride 2

then BatchNorm + ReLU, global average pooling and a linear classifier. Inside a cell node ``i``
sums ``op_{i<-j}(node_j)`` over ``j < i``; node 3 is the cell output. The operations:
``none`` (zero), ``skip_connect`` (identity), ``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU-conv-BN)
and ``avg_pool_3x3`` (stride 1, border windows average over real positions only).

The search network holds one :class:`~dnas.LayerChoice` per edge, labelled ``"i<-j"`` and shared
by every cell (its BatchNorms non-affine, as in the benchmark's search code). The fixed network is
built from an architecture and only builds live edges (:func:`~dnas.spaces.nb201.live_edges`), so
its parameters, FLOPs and initial weights depend only on the architecture (and the seed).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.arch.seeding import seeded_reset
from dnas.ops.cell_ops import ReLUConvBN, Zero
from dnas.ops.layers import avg_pool, batch_norm, check_dim, check_input, conv, global_avg_pool
from dnas.space.binding import bind
from dnas.space.modules import LayerChoice
from dnas.space.searchable import Searchable
from dnas.spaces.nb201.equivalence import live_edges
from dnas.spaces.nb201.structure import LABELS, NODES, OPS, as_ops, check_ops, to_ops


class AvgPool3(nn.Module):
    """3-wide average pooling at stride 1 over every spatial axis, borders averaging over real
    positions only (``AvgPool(3, 1, 1, count_include_pad=False)``), as a sum of shifted copies:
    the same numbers, 2-3x faster than PyTorch's pooling kernels for 1-D inputs on CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, count = x, None
        for axis in range(2, x.dim()):
            n = x.shape[axis]
            padded = F.pad(out.movedim(axis, -1), (1, 1)).movedim(-1, axis)
            out = padded.narrow(axis, 0, n) + padded.narrow(axis, 1, n) + padded.narrow(axis, 2, n)
            c = torch.full((n,), 3.0, dtype=x.dtype, device=x.device)
            c[0] -= 1
            c[-1] -= 1
            if n == 1:
                c[0] = 1.0
            shape = [1] * x.dim()
            shape[axis] = n
            count = c.view(shape) if count is None else count * c.view(shape)
        return out if count is None else out / count


def create_op(name: str, C: int, affine: bool = True, dim: int = 2) -> nn.Module:
    """One NAS-Bench-201 operation at ``C`` channels and stride 1."""
    if name == "none":
        return Zero(1)
    if name == "skip_connect":
        return nn.Identity()
    if name in ("nor_conv_1x1", "nor_conv_3x3"):
        k = 1 if name == "nor_conv_1x1" else 3
        return ReLUConvBN(C, C, k, 1, k // 2, affine=affine, dim=dim)
    if name == "avg_pool_3x3":
        return AvgPool3()
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}; allowed: {list(OPS)}")


class ResidualReduction(nn.Module):
    """The reduction block between stages: a 2-layer residual block at stride 2."""

    def __init__(self, C_in: int, C_out: int, dim: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, 2, 1, dim=dim)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, dim=dim)
        self.downsample = nn.Sequential(
            avg_pool(dim, 2, stride=2, padding=0), conv(dim, C_in, C_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Cell(nn.Module):
    """A NAS-Bench-201 cell: ``edges["i<-j"]`` maps node ``j`` into node ``i``'s sum.

    Parameters
    ----------
    edges : mapping of str to nn.Module
        The edges that exist, by label; a missing edge contributes nothing (a fixed cell leaves
        out dead edges). A node with no contribution is zero, and edges reading it are skipped.
    """

    def __init__(self, edges: Mapping[str, nn.Module]) -> None:
        super().__init__()
        unknown = sorted(set(edges) - set(LABELS))
        if unknown:
            raise ValueError(f"unknown edge labels {unknown}; a cell has {list(LABELS)}")
        self.edges = nn.ModuleDict({label: edges[label] for label in LABELS if label in edges})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x]
        for i in range(1, NODES):
            terms = [
                self.edges[f"{i}<-{j}"](h)
                for j, h in enumerate(nodes)
                if h is not None and f"{i}<-{j}" in self.edges
            ]
            nodes.append(sum(terms[1:], terms[0]) if terms else None)
        out = nodes[-1]
        return torch.zeros_like(x) if out is None else out


class SearchCell(Cell, Searchable):
    """A supernet cell: every edge a LayerChoice. :func:`dnas.fix` turns it into a :class:`Cell`
    holding the chosen candidate of each *live* edge only (dead edges and their weights dropped)."""

    def fixed(self, architecture: Mapping[str, Sequence[Any]]) -> nn.Module:
        ops = to_ops({label: architecture[label] for label in LABELS if label in architecture})
        live = live_edges(ops)
        edges: dict[str, nn.Module] = {}
        for label, op, keep in zip(LABELS, ops, live, strict=True):
            if keep:
                choice = self.edges[label]
                edges[label] = choice.candidates[op] if isinstance(choice, LayerChoice) else choice
        return Cell(edges)


class Network(nn.Module):
    """Stem, three stages of ``N`` cells with residual reductions between them, classifier.

    Build it with :func:`search_network` or :func:`fixed_network`.
    """

    def __init__(
        self,
        make_cell: Any,
        C: int,
        N: int,
        num_classes: int,
        dim: int,
        in_channels: int,
    ) -> None:
        super().__init__()
        self.C, self.N, self.num_classes = C, N, num_classes
        self.dim, self.in_channels = dim, in_channels
        self.stem = nn.Sequential(
            conv(dim, in_channels, C, 3, padding=1, bias=False), batch_norm(dim, C)
        )
        layers: list[nn.Module] = []
        C_prev = C
        for stage in range(3):
            C_stage = C * 2**stage
            if stage:
                layers.append(ResidualReduction(C_prev, C_stage, dim))
            layers.extend(make_cell(C_stage) for _ in range(N))
            C_prev = C_stage
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(batch_norm(dim, C_prev), nn.ReLU(inplace=False))
        self.global_pooling = global_avg_pool(dim)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.dim, self.in_channels)
        h = self.stem(x)
        for layer in self.cells:
            h = layer(h)
        return self.classifier(self.global_pooling(self.lastact(h)).flatten(1))


class SearchNetwork(Network):
    """The NAS-Bench-201 supernet: every edge a LayerChoice over ``ops``, shared by all cells."""

    def __init__(self, C: int, N: int, num_classes: int, dim: int, in_channels: int,
                 ops: Sequence[str], partial_channels: int = 1) -> None:
        self.ops = tuple(ops)
        self.partial_channels = partial_channels

        def make_cell(C_cell: int) -> Cell:
            edges = {}
            for label in LABELS:
                edge = LayerChoice(
                    {o: create_op(o, C_cell // partial_channels, affine=False, dim=dim)
                     for o in self.ops},
                    label=label,
                )
                # read by the pc-darts relaxation (a plain attribute, like the DARTS space's)
                edge.partial_channels = partial_channels  # type: ignore[assignment]
                edges[label] = edge
            return SearchCell(edges)

        super().__init__(make_cell, C, N, num_classes, dim, in_channels)
        bind(self)

    def derive_architecture(self) -> Architecture:
        """NAS-Bench-201's export rule: on each edge the most probable operation, ``none``
        included (see :func:`dnas.spaces.nb201.derive`)."""
        from dnas.spaces.nb201.export import derive

        return derive(self)


def _sizes(C: int, N: int, num_classes: int, dim: int, in_channels: int | None) -> int:
    for name, value in (("C", C), ("N", N), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    dim = check_dim(dim)
    in_channels = 1 if in_channels is None and dim == 1 else in_channels
    in_channels = 3 if in_channels is None else in_channels
    if (isinstance(in_channels, bool) or not isinstance(in_channels, numbers.Integral)
            or in_channels < 1):
        raise ValueError(f"in_channels={in_channels!r} must be a positive integer")
    return in_channels


def search_network(
    C: int = 16,
    N: int = 5,
    num_classes: int = 10,
    dim: int = 2,
    in_channels: int | None = None,
    ops: Sequence[str] = OPS,
    partial_channels: int = 1,
) -> SearchNetwork:
    """The NAS-Bench-201 supernet (defaults: the benchmark's search setting, C=16, N=5).

    Parameters
    ----------
    C : int
        Channels of the first stage (``2C`` and ``4C`` after the reductions).
    N : int
        Cells per stage.
    num_classes : int
        Classifier outputs.
    dim : {1, 2}
        1 for sequences ``(B, C, L)``, 2 for images ``(B, C, H, W)``.
    in_channels : int, optional
        Input channels (default 3 for images, 1 for sequences).
    ops : sequence of str
        Candidate operations of every edge, a subset of :data:`~dnas.spaces.nb201.OPS`.
    partial_channels : int
        PC-DARTS' K: the candidates are built for ``C // K`` channels of every stage (use with
        ``method="pc-darts"`` and the same ``partial_channels``).
    """
    in_channels = _sizes(C, N, num_classes, dim, in_channels)
    if (isinstance(partial_channels, bool) or not isinstance(partial_channels, int)
            or partial_channels < 1 or C % partial_channels):
        raise ValueError(
            f"partial_channels={partial_channels!r} must be a positive integer dividing C={C}"
        )
    return SearchNetwork(C, N, num_classes, dim, in_channels, check_ops(ops), partial_channels)


def fixed_network(
    architecture: Mapping[str, Any] | Sequence[str] | str,
    C: int = 16,
    N: int = 5,
    num_classes: int = 10,
    dim: int = 2,
    in_channels: int | None = None,
    *,
    seed: int | None = None,
) -> Network:
    """The network of one architecture, with only its live edges built.

    Parameters
    ----------
    architecture : Architecture, mapping, NAS-Bench-201 string or six operations
        The cell (EDGES order for a sequence).
    C, N, num_classes, dim, in_channels
        As for :func:`search_network`.
    seed : int, optional
        Initialise every layer from a generator seeded by ``seed`` and the layer's name, so the
        initial weights depend only on the architecture and the seed (and a layer that two
        architectures share starts equal in both). Default: PyTorch's usual initialisation from
        the global random state.
    """
    in_channels = _sizes(C, N, num_classes, dim, in_channels)
    ops = as_ops(architecture)
    live = live_edges(ops)

    def make_cell(C_cell: int) -> Cell:
        return Cell({
            label: create_op(op, C_cell, affine=True, dim=dim)
            for label, op, keep in zip(LABELS, ops, live, strict=True)
            if keep
        })

    if seed is None:
        return Network(make_cell, C, N, num_classes, dim, in_channels)
    # the constructors draw from the global generator: keep the caller's stream as it was
    with torch.random.fork_rng(devices=[]):
        net = Network(make_cell, C, N, num_classes, dim, in_channels)
    seeded_reset(net, seed)
    return net


__all__ = [
    "AvgPool3",
    "Cell",
    "Network",
    "ResidualReduction",
    "SearchCell",
    "SearchNetwork",
    "create_op",
    "fixed_network",
    "search_network",
]
