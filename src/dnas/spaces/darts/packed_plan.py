"""What the packed DARTS cell computes per state: its candidates sorted into shared work,
stacked convolutions and per-edge leftovers (read once from the cell's modules, then cached).

Every state ``j`` of a cell feeds the nodes ``k > j`` through one edge each, and the edges'
candidates are built alike. Per state, the candidates fall into:

* **shared**: parameter-free operations give the same output on every outgoing edge — a pooling
  followed by a non-affine BatchNorm (the same batch statistics on every edge), the identity
  ``skip_connect`` — computed once: one row of the state's output table;
* **stacked**: ``DilConv`` and ``SepConv`` (ReLU → depthwise → pointwise → BatchNorm, once or
  twice) and ``FactorizedReduce``, whose weights differ per edge but whose shapes agree: one
  grouped convolution per kind and stage over all outgoing edges, one grouped pointwise
  convolution and one BatchNorm per stage; one row per edge;
* **generic**: anything else (a registered custom operation, a module edited by hand) runs per
  edge: one row per edge;
* ``none`` contributes nothing and is skipped.

The plan also lists which module's weight goes into which stacked convolution, which BatchNorm
modules each normalisation call stands for, and where each entry of a state's mixing matrix
comes from in the (label × candidate) weight table of the cell type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from dnas.ops.cell_ops import DilConv, FactorizedReduce, SepConv, Zero
from dnas.relaxations.pc_darts import PartialChannels
from dnas.space.modules import ArchParams, InputChoice, LayerChoice

_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)


def weighted_sum(arch: ArchParams) -> bool:
    """Whether the label's relaxation mixes as ``Σ_o weights(α)_o · o(x)`` over every candidate
    (its ``fused_weighted_sum`` flag: darts, fair-darts, drnas), which the packed cell may then
    compute its own way. PC-DARTS mixes its input choices so, and its layer choices too when
    they see every channel (``partial_channels=1``)."""
    r = arch.relaxation
    if r.fused_weighted_sum:
        return True
    if isinstance(r, PartialChannels):
        return arch.kind == "input" or r.partial_channels == 1
    return False


def _norm_ok(bn: Any, channels: int) -> bool:
    return (
        isinstance(bn, _BatchNorm) and not bn.affine and bn.track_running_stats
        and bn.momentum is not None and bn.num_features == channels
    )


def _conv_ok(conv: Any, channels: int, groups: int) -> bool:
    return (
        isinstance(conv, _ConvNd) and conv.bias is None and conv.padding_mode == "zeros"
        and not conv.transposed and isinstance(conv.padding, tuple) and conv.groups == groups
        and conv.in_channels == conv.out_channels == channels
    )


def _block_geometry(block: Any, channels: int) -> tuple | None:
    """``(kernel, stride, padding, dilation, eps)`` of a DilConv block on ``channels``, or None."""
    if type(block) is not DilConv or len(block) != 4 or type(block[0]) is not nn.ReLU:
        return None
    dw: Any = block[1]
    pw: Any = block[2]
    bn: Any = block[3]
    if not (_conv_ok(dw, channels, channels) and _conv_ok(pw, channels, 1)
            and _norm_ok(bn, channels)):
        return None
    if {*pw.kernel_size, *pw.stride, *pw.dilation} != {1} or set(pw.padding) != {0}:
        return None
    # the kinds of a stage are concatenated: each must keep the size ("same" padding)
    if any(2 * p != d * (k - 1) for k, p, d in zip(dw.kernel_size, dw.padding, dw.dilation)):
        return None
    return (dw.kernel_size, dw.stride, dw.padding, dw.dilation, bn.eps)


def _reduce_ok(m: Any, channels: int) -> bool:
    def conv_ok(c: Any) -> bool:
        return (
            isinstance(c, _ConvNd) and c.bias is None and c.groups == 1 and not c.transposed
            and c.in_channels == channels and {*c.kernel_size, *c.dilation} == {1}
            and set(c.stride) == {2} and set(c.padding) == {0}
        )

    if type(m) is not FactorizedReduce:
        return False
    c1: Any = m.conv_1
    c2: Any = m.conv_2
    return (
        conv_ok(c1) and conv_ok(c2) and c1.out_channels + c2.out_channels == channels
        and _norm_ok(m.bn, channels)
    )


@dataclass
class ConvKind:
    """A candidate whose per-edge modules are DilConv (one block) or SepConv (two blocks)."""

    name: str
    modules: list[nn.Module]  # per edge
    blocks: list[list[Any]]  # blocks[b][e]: block b (a DilConv) of edge e
    geometry: list[tuple]  # per block: (kernel, stride, padding, dilation, eps)


@dataclass
class StatePlan:
    """The packed work of one state of a cell (see the module docstring)."""

    source: int
    targets: list[int]  # the nodes this state feeds, in order
    pools: list[tuple[str, nn.Module, list[_BatchNorm]]] = field(default_factory=list)
    identity: str | None = None
    seps: list[ConvKind] = field(default_factory=list)
    dils: list[ConvKind] = field(default_factory=list)
    reduce: tuple[str, list[FactorizedReduce]] | None = None
    generic: list[tuple[str, list[nn.Module]]] = field(default_factory=list)
    rows: list[tuple[str, int | None]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # BatchNorm call index by stage
    weights: dict[str, tuple[int, int]] = field(default_factory=dict)  # use -> (table, chunk)

    @property
    def fanout(self) -> int:
        return len(self.targets)


def _file(name: str, modules: list[Any], channels: int, state: StatePlan) -> None:
    """Sort the candidate ``name`` (its module on every outgoing edge) into ``state``."""
    first = modules[0]
    if all(type(m) is Zero for m in modules):
        return
    if all(type(m) is nn.Identity for m in modules) and state.identity is None:
        state.identity = name
        return
    if all(type(m) is nn.Sequential and len(m) == 2 for m in modules):
        pool, bn = first[0], first[1]
        if isinstance(pool, _POOLS) and all(
            type(m[0]) is type(pool) and m[0].extra_repr() == pool.extra_repr()
            and _norm_ok(m[1], channels) and m[1].eps == bn.eps for m in modules
        ):
            state.pools.append((name, pool, [m[1] for m in modules]))
            return
    if type(first) in (DilConv, SepConv) and all(type(m) is type(first) for m in modules):
        per_edge = [list(m) if type(m) is SepConv else [m] for m in modules]
        found = [_block_geometry(b, channels) for b in per_edge[0]]
        same = all([_block_geometry(b, channels) for b in p] == found for p in per_edge)
        geometry = [g for g in found if g is not None]
        if same and len(geometry) == len(found) and (
            len(geometry) == 1 or set(geometry[1][1]) == {1}
        ):
            blocks = [[p[b] for p in per_edge] for b in range(len(geometry))]
            kind = ConvKind(name, list(modules), blocks, geometry)
            (state.seps if len(blocks) == 2 else state.dils).append(kind)
            return
    if state.reduce is None and all(_reduce_ok(m, channels) for m in modules) and all(
        m.bn.eps == first.bn.eps and m.conv_1.out_channels == first.conv_1.out_channels
        for m in modules
    ):
        state.reduce = (name, list(modules))
        return
    state.generic.append((name, list(modules)))


def _demote(state: StatePlan, kinds: list[ConvKind], block: int) -> None:
    """Kinds normalised by one call must share BatchNorm's eps; the others run per edge."""
    if not kinds:
        return
    eps = kinds[0].geometry[block][4]
    for kind in [k for k in kinds if k.geometry[block][4] != eps]:
        (state.seps if kind in state.seps else state.dils).remove(kind)
        state.generic.append((kind.name, kind.modules))


class CellPlan:
    """The packed work of a whole :class:`~dnas.spaces.darts.search.SearchCell`.

    Build it with :func:`plan_cell`; :meth:`matches` tells whether the cell still holds the
    modules the plan was read from.
    """

    def __init__(self, cell: Any, channels: int) -> None:
        steps = cell.steps
        edges = {(k, j): cell.edges[f"edge_{k}_{j}"] for k in range(2, steps + 2) for j in range(k)}
        self.names: tuple[str, ...] = next(iter(edges.values())).names
        self.edges = list(edges.values())
        self.nodes = [cell.nodes[f"node_{k}"] for k in range(2, steps + 2)] if cell.nodes else []
        self._snapshot = self._modules(cell)
        label = {kj: i for i, kj in enumerate(edges)}
        n_ops = len(self.names)
        self.states: list[StatePlan] = []
        self.bn_calls: list[tuple[int, list[tuple[_BatchNorm, int]]]] = []
        uses: list[list[Any]] = []
        index: list[int] = []
        self.shapes: list[tuple[int, int]] = []
        for j in range(steps + 1):
            targets = [k for k in range(max(2, j + 1), steps + 2)]
            state = StatePlan(j, targets)
            for name in self.names:
                _file(name, [edges[k, j].candidates[name] for k in targets], channels, state)
            _demote(state, state.seps + state.dils, 0)
            _demote(state, state.seps, 1)
            self._schedule(state, channels, uses)
            for t, k in enumerate(targets):
                for name, e in state.rows:
                    pick = e is None or e == t
                    index.append(label[k, j] * n_ops + self.names.index(name) if pick
                                 else len(edges) * n_ops)  # the zero appended to the table
            self.shapes.append((state.fanout, len(state.rows)))
            self.states.append(state)
        self._group_weights(uses)
        self.index = index
        self.layout = (tuple(index), tuple(self.shapes))  # equal for cells built alike
        self._index: dict[torch.device, torch.Tensor] = {}

    @property
    def edge_archs(self) -> list[ArchParams]:
        """The edges' architecture parameters, in label order (read now: binding may swap them)."""
        return [e.arch for e in self.edges]

    @property
    def node_archs(self) -> list[ArchParams]:
        """The nodes' edge weights (PC-DARTS edge normalisation), or an empty list."""
        return [n.arch for n in self.nodes]

    @staticmethod
    def _modules(cell: Any) -> tuple:
        out: list[Any] = [cell.preprocess0, cell.preprocess1]
        for edge in cell.edges.values():
            out.append(edge)
            if isinstance(edge, LayerChoice):
                out += list(edge.candidates.values())
        return tuple(out + list(cell.nodes.values()))

    def matches(self, cell: Any) -> bool:
        """Whether ``cell`` still holds the very modules this plan was read from."""
        now = self._modules(cell)
        return len(now) == len(self._snapshot) and all(a is b for a, b in zip(now, self._snapshot))

    def _schedule(self, state: StatePlan, channels: int, uses: list[list[Any]]) -> None:
        """Row order of the state's table, BatchNorm calls and stacked weights, in run order."""
        d = state.fanout

        def call(stage: str, channels_: int, modules: list[tuple[Any, int]]) -> None:
            state.calls[stage] = len(self.bn_calls)
            self.bn_calls.append((channels_, modules))

        def use(key: str, modules: list[Any]) -> None:
            state.weights[key] = (len(uses), 0)  # regrouped by shape in _group_weights
            uses.append(modules)

        for name, _, bns in state.pools:
            call(f"pool:{name}", channels, [(bn, 0) for bn in bns])
            state.rows.append((name, None))
        if state.identity is not None:
            state.rows.append((state.identity, None))
        stage1 = state.seps + state.dils
        if stage1:
            for i, kind in enumerate(stage1):
                use(f"dw1:{i}", [b[1] for b in kind.blocks[0]])
            use("pw1", [b[2] for kind in stage1 for b in kind.blocks[0]])
            call("bn1", len(stage1) * d * channels,
                 [(b[3], (i * d + e) * channels) for i, kind in enumerate(stage1)
                  for e, b in enumerate(kind.blocks[0])])
            state.rows += [(kind.name, e) for kind in state.dils for e in range(d)]
        if state.seps:
            for i, kind in enumerate(state.seps):
                use(f"dw2:{i}", [b[1] for b in kind.blocks[1]])
            use("pw2", [b[2] for kind in state.seps for b in kind.blocks[1]])
            call("bn2", len(state.seps) * d * channels,
                 [(b[3], (i * d + e) * channels) for i, kind in enumerate(state.seps)
                  for e, b in enumerate(kind.blocks[1])])
            state.rows += [(kind.name, e) for kind in state.seps for e in range(d)]
        if state.reduce is not None:
            name, frs = state.reduce
            use("fr1", [m.conv_1 for m in frs])
            use("fr2", [m.conv_2 for m in frs])
            call("fr", d * channels, [(m.bn, e * channels) for e, m in enumerate(frs)])
            state.rows += [(name, e) for e in range(d)]
        for name, _ in state.generic:
            state.rows += [(name, e) for e in range(d)]

    def _group_weights(self, uses: list[list[Any]]) -> None:
        """One bank per weight shape; each use is a chunk (consecutive rows) of its shape's bank."""
        by_shape: dict[tuple[int, ...], int] = {}
        self.tables: list[list[_ConvNd]] = []
        self.table_chunks: list[list[int]] = []
        where: list[tuple[int, int]] = []
        for modules in uses:
            shape = tuple(modules[0].weight.shape)
            t = by_shape.setdefault(shape, len(self.tables))
            if t == len(self.tables):
                self.tables.append([])
                self.table_chunks.append([])
            where.append((t, len(self.table_chunks[t])))
            self.tables[t] += modules
            self.table_chunks[t].append(shape[0] * len(modules))
        for state in self.states:
            state.weights = {key: where[u] for key, (u, _) in state.weights.items()}

    def index_on(self, device: torch.device) -> torch.Tensor:
        """The mixing-matrix gather index (all states, flattened) on ``device`` (cached)."""
        index = self._index.get(device)
        if index is None:
            index = torch.tensor(self.index, dtype=torch.long, device=device)
            self._index[device] = index
        return index

    def blocking_label(self) -> tuple[str, str] | None:
        """``(label, method)`` of the first label whose relaxation is not a weighted sum of all
        candidates (the packed cell cannot run it), or None."""
        for arch in (*self.edge_archs, *self.node_archs):
            if not weighted_sum(arch):
                return arch.label, arch.relaxation.name
        return None


def plan_cell(cell: Any, channels: int) -> CellPlan | None:
    """The :class:`CellPlan` of ``cell`` on ``channels`` per candidate, or None when the cell's
    edges are no longer labelled choices of one candidate list (e.g. after ``dnas.fix``)."""
    edges = list(cell.edges.values())
    if not edges or not all(isinstance(e, LayerChoice) for e in edges):
        return None
    if any(e.names != edges[0].names for e in edges):
        return None
    if cell.nodes and not all(isinstance(n, InputChoice) for n in cell.nodes.values()):
        return None
    return CellPlan(cell, channels)


__all__ = ["CellPlan", "ConvKind", "StatePlan", "plan_cell", "weighted_sum"]
