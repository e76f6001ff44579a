"""The packed DARTS cell: the search network's forward computed per state, not per edge.

Node ``k`` of a cell is (Liu et al., 2019, eqs. 1-2; with PC-DARTS' edge weights β, eq. 4)

    x_k = Σ_{j<k} β_{k,j} Σ_o w_{k,j,o} · o^{(k,j)}(x_j),      w_{k,j} = weights(α_{k,j})

Grouped by source state ``j`` instead of by edge, every candidate output of ``x_j`` (its shared
pooled and identity rows, and one row per outgoing edge of every stacked convolution; see
:mod:`~dnas.spaces.darts.packed_plan`) is one row of a table ``T_j`` of shape ``(M_j, B·N)``, and
its contribution to all the nodes it feeds is one matrix product with a mixing matrix ``W_j``
(``W_j[t, m] = β_{k_t,j} · w_{k_t,j,o(m)}`` when row ``m`` is shared or belongs to edge
``(k_t, j)``, else 0):

    [x_{k_1}; ...; x_{k_d}] += W_j · T_j                            (one ``addmm`` per state)

The same numbers as the per-edge network up to the order of floating-point sums: outputs, losses,
every α and weight gradient and every BatchNorm running statistic (the tests compare both in
float64). The stacked convolutions' weights are slices of the cell's weight banks
(:mod:`~dnas.spaces.darts.banks`), and BatchNorm running statistics move in bulk
(:class:`~dnas.ops.norm.RunningStatsUpdate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F

from dnas.ops import stacking
from dnas.ops.norm import RunningStatsUpdate
from dnas.spaces.darts.packed_plan import CellPlan, StatePlan

if TYPE_CHECKING:
    from dnas.spaces.darts.search import SearchCell, SearchNetwork

_CONV: dict[int, Any] = {1: F.conv1d, 2: F.conv2d}


def weight_table(plan: CellPlan) -> torch.Tensor:
    """Every label's mixing weights (times its node's edge weight), flattened, plus a zero.

    Entry ``l · n + o`` is ``β · weights(α_l)_o`` for edge label ``l`` and candidate ``o``; the
    last entry is the 0 that the mixing matrices take where a row does not feed a node.
    """
    table = torch.stack([arch.weights() for arch in plan.edge_archs])
    if plan.node_archs:
        beta = torch.cat([arch.weights() for arch in plan.node_archs])
        table = table * beta.unsqueeze(1)
    return F.pad(table.flatten(), (0, 1))


def _depthwise(
    x: torch.Tensor,
    weights: list[torch.Tensor],
    geometry: list[tuple],
    d: int,
    C: int,
    multiplier: bool,
    edges_in: bool = False,
) -> torch.Tensor:
    """Depthwise convolutions of ``d`` edges for each kind, concatenated edge-major per kind.

    ``weights[i]`` holds kind ``i``'s per-edge kernels stacked edge by edge, ``(d·C, 1, *k)``.
    The input is ``(B, C, *S)``, shared by all edges, or, with ``edges_in``, already one block of
    ``C`` channels per edge ``(B, d·C, *S)`` (then there is one kind). Two equivalent ways:

    * copies (``multiplier=False``): the input repeated ``d`` times, one depthwise conv with
      ``d·C`` groups per kind (the fewest kernels: a GPU's choice);
    * channel multiplier: ``C`` groups with ``d`` outputs each, kernels and outputs reordered
      between channel-major and edge-major (faster CPU kernels for dilated and 5×5 convs).
    """
    conv = _CONV[x.dim() - 2]
    if edges_in or not multiplier:
        if not edges_in and d > 1:
            x = x.repeat(1, d, *([1] * (x.dim() - 2)))
        return stacking.cat([conv(x, w, None, *g, d * C) for w, g in zip(weights, geometry)], 1)
    out = []
    for w, g in zip(weights, geometry):
        w = w.unflatten(0, (d, C)).transpose(0, 1).flatten(0, 1)  # (C·d, 1, *k), channel-major
        y = conv(x, w, None, *g, C)  # (B, C·d, *S)
        out.append(y.unflatten(1, (C, d)).transpose(1, 2))  # (B, d, C, *S) view
    return stacking.cat(out, 1).flatten(1, 2)


def _rows(
    state: StatePlan,
    x: torch.Tensor,
    channels: int,
    weights: list[Sequence[torch.Tensor]],
    stats: RunningStatsUpdate,
    first_call: int,
    multiplier: bool,
) -> torch.Tensor:
    """The candidate outputs of state ``x`` as a table ``(rows, B·N)`` (rows as in the plan)."""
    dim = x.dim() - 2
    conv = _CONV[dim]
    d, C = state.fanout, channels

    def w(key: str) -> torch.Tensor:
        table, chunk = state.weights[key]
        return weights[table][chunk]

    pieces: list[torch.Tensor] = []
    for name, pool, bns in state.pools:  # one pooled row, whatever the fan-out
        pooled = stats.batch_norm(pool(x), first_call + state.calls[f"pool:{name}"], bns[0].eps)
        pieces.append(pooled.unsqueeze(0))
    if state.identity is not None:
        pieces.append(x.unsqueeze(0))
    stage1 = state.seps + state.dils
    relu = torch.relu(x) if stage1 or state.reduce is not None else x
    if stage1:
        # stage 1 of every conv kind: one depthwise conv per kind over all outgoing edges, one
        # grouped pointwise conv, one BatchNorm
        h = _depthwise(relu, [w(f"dw1:{i}") for i in range(len(stage1))],
                       [kind.geometry[0][1:4] for kind in stage1], d, C, multiplier)
        h = conv(h, w("pw1"), None, 1, 0, 1, len(stage1) * d)
        h = stats.batch_norm(h, first_call + state.calls["bn1"], stage1[0].geometry[0][4])
        parts = h.unflatten(1, (len(stage1) * d, C))  # (B, kinds·d, C, *S)
        sizes = [d] * len(state.seps) + ([len(state.dils) * d] if state.dils else [])
        parts = parts.split(sizes, 1)
        if state.dils:
            pieces.append(parts[-1].transpose(0, 1))
        if state.seps:  # stage 2 of the separable convs, stride 1
            per_kind = [
                _depthwise(torch.relu(p.flatten(1, 2)), [w(f"dw2:{i}")], [kind.geometry[1][1:4]],
                           d, C, multiplier, edges_in=True)
                for i, (p, kind) in enumerate(zip(parts, state.seps))
            ]
            g = conv(stacking.cat(per_kind, 1), w("pw2"), None, 1, 0, 1, len(per_kind) * d)
            g = stats.batch_norm(g, first_call + state.calls["bn2"], state.seps[0].geometry[1][4])
            pieces.append(g.unflatten(1, (len(state.seps) * d, C)).transpose(0, 1))
    if state.reduce is not None:  # factorized reductions of all outgoing edges
        _, frs = state.reduce
        fr: Any = frs[0]
        c1, c2 = fr.conv_1.out_channels, fr.conv_2.out_channels
        even = conv(relu, w("fr1"), None, 2, 0, 1, 1).unflatten(1, (d, c1))
        tail: tuple[Any, ...] = (Ellipsis, *([slice(1, None)] * dim))  # drop the first row/column
        shifted = F.pad(relu[tail], (0, 1) * dim)
        odd = conv(shifted, w("fr2"), None, 2, 0, 1, 1).unflatten(1, (d, c2))
        f = stats.batch_norm(stacking.cat([even, odd], 2).flatten(1, 2),
                             first_call + state.calls["fr"], fr.bn.eps)
        pieces.append(f.unflatten(1, (d, C)).transpose(0, 1))
    for _, modules in state.generic:
        pieces += [m(x).unsqueeze(0) for m in modules]
    return stacking.cat(pieces, 0)


def run_cell(
    cell: SearchCell,
    plan: CellPlan,
    s0: torch.Tensor,
    s1: torch.Tensor,
    mixing: Sequence[torch.Tensor],
    stats: RunningStatsUpdate,
    first_call: int = 0,
    multiplier: bool = False,
) -> torch.Tensor:
    """One search cell, packed.

    ``mixing`` are the states' mixing matrices (:func:`mixing_matrices`); ``stats`` collects the
    BatchNorm statistics, the cell's calls starting at ``first_call``; ``multiplier`` picks the
    depthwise strategy (:func:`_depthwise`).
    """
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    weights = [getattr(cell, f"bank_{t}").split(chunks)
               for t, chunks in enumerate(plan.table_chunks)]
    acc: torch.Tensor | None = None
    for state, w in zip(plan.states, mixing):
        rows = _rows(state, states[state.source], cell.channels, weights, stats, first_call,
                     multiplier)
        shape = rows.shape[1:]
        rows = rows.flatten(1)
        acc = w @ rows if acc is None else torch.addmm(acc, w, rows)
        if state.source >= 1:  # the first node fed by this state has all its inputs now
            d = state.fanout
            node, acc = acc.split([1, d - 1]) if d > 1 else (acc, None)
            states.append(node.view(shape))
    return stacking.cat(states[-cell.multiplier :], 1)


def mixing_matrices(plan: CellPlan, table: torch.Tensor) -> list[torch.Tensor]:
    """The states' mixing matrices ``W_j`` (``fanout × rows``), gathered from ``table``."""
    flat = table[plan.index_on(table.device)].split([d * m for d, m in plan.shapes])
    return [w.view(shape) for w, shape in zip(flat, plan.shapes)]


#: How the packed cell runs its depthwise convolutions (see :func:`_depthwise`).
DEPTHWISE = ("auto", "copies", "multiplier")


def packed_forward(
    net: SearchNetwork, x: torch.Tensor, plans: list[CellPlan], depthwise: str = "auto"
) -> torch.Tensor:
    """The search network's forward with every cell packed (``plans``: one per cell).

    ``depthwise``: ``"copies"``, ``"multiplier"`` or ``"auto"`` (copies on CUDA, the fewest
    kernel launches; the channel multiplier elsewhere, the faster CPU kernels).
    """
    if depthwise not in DEPTHWISE:
        raise ValueError(f"depthwise={depthwise!r} is not one of {list(DEPTHWISE)}")
    multiplier = depthwise == "multiplier" or (depthwise == "auto" and x.device.type != "cuda")
    s0 = s1 = net.stem(x)
    stats = RunningStatsUpdate([call for plan in plans for call in plan.bn_calls], like=s1)
    mixings: dict[tuple, list[torch.Tensor]] = {}
    first_call = 0
    for cell, plan in zip(net.cells, plans):
        archs = tuple(id(a) for a in (*plan.edge_archs, *plan.node_archs))
        # once per cell type: the cells of a type share their labels (and, built alike, rows)
        key = (archs, plan.layout)
        if key not in mixings:
            mixings[key] = mixing_matrices(plan, weight_table(plan))
        s0, s1 = s1, run_cell(cast("SearchCell", cell), plan, s0, s1, mixings[key], stats,
                              first_call, multiplier)
        first_call += len(plan.bn_calls)
    stats.apply()
    return net.classifier(net.global_pooling(s1).flatten(1))


__all__ = ["DEPTHWISE", "mixing_matrices", "packed_forward", "run_cell", "weight_table"]
