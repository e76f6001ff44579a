"""The DARTS search network (Liu et al., 2019, section 2.1 and appendix A.1.1).

A stem convolution (3×3, ``stem_multiplier · C`` channels) feeds ``layers`` cells; the cells at
``layers // 3`` and ``2 · layers // 3`` are reduction cells (stride 2 on the edges that read the
cell inputs, channels doubled). Each cell preprocesses its two inputs to ``C`` channels (1×1
ReLU-conv-BN, or a factorized reduction when the previous cell reduced), computes ``steps`` nodes

    x_k = Σ_{j<k} ō^{(k,j)}(x_j),     ō^{(k,j)}(x) = Σ_o softmax(α^{(k,j)})_o · o(x)      (eq. 1-2)

and concatenates the last ``multiplier`` nodes. Every edge is a :class:`~dnas.LayerChoice` whose
label (``normal/edge_<k>_<j>``, ``reduce/edge_<k>_<j>``) is shared by all cells of its type, so a
network has 2 × 14 α vectors of 8 logits. BatchNorm is non-affine inside the cells, and pooling
candidates are followed by a non-affine BatchNorm, as in the paper's code.

``edge_normalization=True`` adds PC-DARTS' edge weights (Xu et al., 2020, eq. 4): node ``k``
becomes ``Σ_j softmax(β^{k})_j · ō^{(k,j)}(x_j)`` through an :class:`~dnas.InputChoice`
``<cell>/node_<k>``. ``partial_channels=K`` builds every candidate with ``C // K`` channels for
PC-DARTS' partial channel connections (eq. 3), which the ``pc-darts`` relaxation applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.ops.cell_ops import FactorizedReduce, ReLUConvBN
from dnas.ops.layers import batch_norm, check_dim, check_input, global_avg_pool, stem
from dnas.ops.norm import uncount_batch_norms
from dnas.ops.registry import create_op, op_names
from dnas.space.binding import bind
from dnas.space.modules import InputChoice, LayerChoice
from dnas.spaces.darts.banks import (
    bank_state_to_edges,
    bank_weights,
    bound_views,
    edge_state_to_banks,
    refresh_slots,
)
from dnas.spaces.darts.packed import packed_forward
from dnas.spaces.darts.packed_plan import CellPlan, plan_cell
from dnas.spaces.darts.structure import (
    PRIMITIVES,
    edge_label,
    is_reduction,
    node_label,
    positive_int,
)


def mixed_op(
    label: str, C: int, stride: int, primitives: Sequence[str], dim: int
) -> LayerChoice:
    """One searchable edge: every primitive at ``C`` channels, pools followed by a plain BN."""
    candidates: dict[str, nn.Module] = {}
    for name in primitives:
        op = create_op(name, C, stride, affine=False, dim=dim)
        if "pool" in name:
            # pooled outputs are not normalised like the conv outputs; DARTS adds a BN here
            op = nn.Sequential(op, batch_norm(dim, C, affine=False))
        candidates[name] = op
    return LayerChoice(candidates, label=label)


class SearchCell(nn.Module):
    """A cell of the search network; its choices are labelled by ``cell_type``.

    Parameters
    ----------
    cell_type : {"normal", "reduce"}
        Also decides the stride of the edges that read the cell inputs.
    steps, multiplier : int
        Intermediate nodes, and how many of the last ones form the output.
    C_prev_prev, C_prev, C : int
        Channels of the two inputs and of every node.
    reduction_prev : bool
        Whether the previous cell reduced (then input 0 is reduced by a factorized reduction).
    primitives : sequence of str
        Candidate operations of every edge.
    dim : {1, 2}
        Spatial dimensions.
    edge_normalization : bool
        PC-DARTS edge weights through an InputChoice per node.
    partial_channels : int
        Candidates are built with ``C // partial_channels`` channels.
    banked : bool
        Store the weights of the convolutions the packed cell stacks in per-shape banks
        (:mod:`~dnas.spaces.darts.banks`), which the packed execution needs.
    """

    def __init__(
        self,
        cell_type: str,
        steps: int,
        multiplier: int,
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction_prev: bool,
        primitives: Sequence[str],
        dim: int,
        edge_normalization: bool = False,
        partial_channels: int = 1,
        banked: bool = False,
    ) -> None:
        super().__init__()
        self.cell_type = cell_type
        self.reduction = cell_type == "reduce"
        self.steps = steps
        self.multiplier = multiplier
        self.channels = C // partial_channels  # of every candidate
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(C_prev_prev, C, affine=False, dim=dim)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False, dim=dim)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False, dim=dim)
        self.edges = nn.ModuleDict()
        self.nodes = nn.ModuleDict()
        for k in range(2, steps + 2):
            for j in range(k):
                stride = 2 if self.reduction and j < 2 else 1
                edge = mixed_op(
                    edge_label(cell_type, k, j), C // partial_channels, stride, primitives, dim
                )
                # read by the PC-DARTS relaxation: the share of channels the candidates see
                edge.partial_channels = partial_channels  # type: ignore[assignment]
                self.edges[f"edge_{k}_{j}"] = edge
            if edge_normalization:
                self.nodes[f"node_{k}"] = InputChoice(k, 2, label=node_label(cell_type, k))
        uncount_batch_norms(self)  # fixed momentum: a step counter would only cost launches
        # the plan is read from the modules as built; banking moves their weights into it
        self._plan: CellPlan | None = plan_cell(self, self.channels) if banked else None
        self._banks = self._plan.tables if self._plan is not None else []
        self._bank_names = bank_weights(self, self._banks)
        self._bank_rows = [[m.out_channels for m in table] for table in self._banks]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        with bound_views(self, self._banks):
            return self._forward_per_edge(s0, s1)

    def _forward_per_edge(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(2, self.steps + 2):
            inputs = [self.edges[f"edge_{k}_{j}"](h) for j, h in enumerate(states)]
            if self.nodes:
                states.append(self.nodes[f"node_{k}"](inputs))
            else:
                states.append(sum(inputs))
        return torch.cat(states[-self.multiplier :], dim=1)

    def packed_plan(self) -> CellPlan | None:
        """The packed execution's plan of this cell, or None when the cell was built unbanked or
        no longer holds the modules it was built with (e.g. after ``dnas.fix``)."""
        plan = self._plan
        return plan if plan is not None and plan.matches(self) else None

    # the state dict keeps the per-edge layout: checkpoints move between banked and per-edge
    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        bank_state_to_edges(destination, prefix, self._bank_names, self._bank_rows)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        incomplete = edge_state_to_banks(state_dict, prefix, self._bank_names)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        for t, names in enumerate(self._bank_names):  # name what is missing as it is saved
            key = prefix + f"bank_{t}"
            if key in missing_keys:
                missing_keys.remove(key)
                wanted = [prefix + n + ".weight" for n in names]
                missing_keys += [k for k in wanted if k in incomplete] or wanted
        refresh_slots(self, self._banks)

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        out = super()._apply(fn, recurse)
        refresh_slots(self, self._banks)
        return out


#: How the search network runs its cells (see :func:`search_network`).
EXECUTIONS = ("auto", "packed", "per-edge")


class SearchNetwork(nn.Module):
    """The DARTS search network; build it with :func:`search_network`.

    Input ``(B, in_channels, H, W)`` (``dim=2``) or ``(B, in_channels, L)`` (``dim=1``); output
    logits ``(B, num_classes)``. :meth:`derive_architecture` applies DARTS' export rule.
    ``execution`` picks the per-edge or the packed cell (:mod:`~dnas.spaces.darts.packed`).
    """

    def __init__(
        self,
        C: int,
        layers: int,
        num_classes: int,
        dim: int,
        in_channels: int,
        steps: int,
        multiplier: int,
        stem_multiplier: int,
        primitives: Sequence[str],
        edge_normalization: bool,
        partial_channels: int,
        execution: str = "auto",
    ) -> None:
        super().__init__()
        self.banked = execution != "per-edge"
        #: the packed cell's depthwise strategy (:data:`dnas.spaces.darts.packed.DEPTHWISE`)
        self.packed_depthwise = "auto"
        self.execution = execution
        self.C, self.layers, self.num_classes, self.dim = C, layers, num_classes, dim
        self.in_channels, self.steps, self.multiplier = in_channels, steps, multiplier
        self.primitives = tuple(primitives)
        self.edge_normalization = edge_normalization
        self.partial_channels = partial_channels

        C_curr = stem_multiplier * C
        self.stem = stem(dim, in_channels, C_curr)
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = is_reduction(i, layers)
            if reduction:
                C_curr *= 2
            cell = SearchCell(
                "reduce" if reduction else "normal", steps, multiplier, C_prev_prev, C_prev,
                C_curr, reduction_prev, self.primitives, dim, edge_normalization, partial_channels,
                self.banked and partial_channels == 1,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, multiplier * C_curr
        self.global_pooling = global_avg_pool(dim)
        self.classifier = nn.Linear(C_prev, num_classes)
        # BatchNorm momentum is fixed here: a step counter would only cost launches
        uncount_batch_norms(self)
        bind(self)  # cells of a type share one α from the start, so parameters() lists it once

    @property
    def execution(self) -> str:
        """``"auto"``, ``"packed"`` or ``"per-edge"`` (see :func:`search_network`)."""
        return self._execution

    @execution.setter
    def execution(self, value: str) -> None:
        if value not in EXECUTIONS:
            raise ValueError(f"execution={value!r} is not one of {list(EXECUTIONS)}")
        if value != "per-edge" and not self.banked:
            raise ValueError(
                f"execution={value!r} needs the weight banks of a network built with "
                "execution='auto' or 'packed'; this one was built with execution='per-edge'"
            )
        self._execution = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.dim, self.in_channels)
        self._check_partial_channels()
        plans = self._packed_plans()
        if plans is not None:
            return packed_forward(self, x, plans, self.packed_depthwise)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def _packed_plans(self) -> list[CellPlan] | None:
        """The cells' plans when this forward runs packed, else None (per-edge)."""
        if self.execution == "per-edge" or not self.training or torch.compiler.is_compiling():
            return None
        plans = []
        for cell in self.cells:
            plan = cast(SearchCell, cell).packed_plan()
            if plan is None:  # the cell no longer holds its choices (dnas.fix): nothing to pack
                return None
            blocking = plan.blocking_label()
            if blocking is not None:
                if self.execution == "packed":
                    label, method = blocking
                    raise ValueError(
                        f"execution='packed' cannot run this network: label {label!r} uses "
                        f"method={method!r}, which does not mix every candidate as a weighted "
                        "sum; use execution='auto' (packed where possible) or 'per-edge'"
                    )
                return None
            plans.append(plan)
        return plans

    def _check_partial_channels(self) -> None:
        # the candidates were built for C // K channels: the relaxation must feed them exactly that
        edge = next(iter(cast(SearchCell, self.cells[0]).edges.values()))
        if not isinstance(edge, LayerChoice):  # fixed by dnas.fix: the edges are plain ops
            if self.partial_channels > 1:
                raise ValueError(
                    f"a fixed copy of a partial_channels={self.partial_channels} search network "
                    "cannot run (its operations expect C // K channels); retrain the architecture "
                    "with eval_network(architecture) instead"
                )
            return
        relaxation = edge.arch.relaxation
        fed = getattr(relaxation, "partial_channels", 1)
        if fed != self.partial_channels:
            raise ValueError(
                f"this network was built with partial_channels={self.partial_channels} (candidates "
                f"see C // {self.partial_channels} channels) but its edges use "
                f"method={relaxation.name!r} with partial_channels={fed}; they must agree: build "
                f"the network with partial_channels={fed}, or search with method='pc-darts' and "
                f"method_options={{'partial_channels': {self.partial_channels}}}"
            )

    def derive_architecture(self) -> Architecture:
        """DARTS' export rule: per node, the two strongest incoming edges and their best op.

        See :func:`dnas.spaces.darts.derive.derive_cells`.
        """
        from dnas.spaces.darts.derive import derive_cells

        return derive_cells(self)


def search_network(
    C: int = 16,
    layers: int = 8,
    num_classes: int = 10,
    dim: int = 2,
    in_channels: int | None = None,
    steps: int = 4,
    multiplier: int = 4,
    stem_multiplier: int = 3,
    primitives: Sequence[str] = PRIMITIVES,
    edge_normalization: bool = False,
    partial_channels: int = 1,
    execution: str = "auto",
) -> SearchNetwork:
    """Build the DARTS search network (defaults: the paper's CIFAR-10 search, 8 cells of C=16).

    Parameters
    ----------
    C : int
        Channels of the first cells (doubled at each reduction).
    layers : int
        Number of cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
    num_classes : int
        Outputs of the classifier.
    dim : {1, 2}
        1 for sequences ``(B, C, L)``, 2 for images ``(B, C, H, W)``.
    in_channels : int, optional
        Input channels; default 3 for ``dim=2``, 1 for ``dim=1``.
    steps : int
        Intermediate nodes per cell (4 in DARTS).
    multiplier : int
        How many of the last nodes are concatenated into the cell output (4 in DARTS).
    stem_multiplier : int
        The stem has ``stem_multiplier * C`` channels.
    primitives : sequence of str
        Candidate operations (default :data:`PRIMITIVES`); any registered operation names.
    edge_normalization : bool
        PC-DARTS edge normalisation: one InputChoice (β) per node.
    partial_channels : int
        PC-DARTS' ``K``: candidates see ``C // K`` channels (``K > 1`` needs
        ``method="pc-darts"``; ``K = 1`` is plain DARTS).
    execution : {"auto", "packed", "per-edge"}
        How training-mode forwards run the cells. ``"per-edge"``: every edge mixes its
        candidates (the paper's formulation). ``"packed"``: per state, shared work once and
        every outgoing edge's convolutions stacked (:mod:`dnas.spaces.darts.packed`; the same
        numbers up to floating-point summation order, several times fewer kernel launches);
        it needs relaxations that mix every candidate as a weighted sum (darts, fair-darts,
        drnas, pc-darts with ``partial_channels=1``) and raises ``ValueError`` otherwise.
        ``"auto"`` (default): packed when possible, else per-edge (sampling relaxations such as
        gdas). Evaluation-mode forwards and forwards under ``torch.compile`` run per-edge. The
        parameters, state dict and checkpoints are the same whichever is used, and the
        attribute may be changed at any time.

    Returns
    -------
    SearchNetwork
    """
    positive_int("C", C)
    positive_int("layers", layers)
    positive_int("num_classes", num_classes)
    dim = check_dim(dim)
    in_channels = (3 if dim == 2 else 1) if in_channels is None else in_channels
    positive_int("in_channels", in_channels)
    positive_int("steps", steps)
    positive_int("multiplier", multiplier)
    if multiplier > steps:
        raise ValueError(f"multiplier={multiplier} must be <= steps={steps}")
    positive_int("stem_multiplier", stem_multiplier)
    positive_int("partial_channels", partial_channels)
    if C % partial_channels or C // partial_channels < 2:
        raise ValueError(
            f"partial_channels={partial_channels} must divide C={C} and leave at least 2 channels"
        )
    if isinstance(primitives, str) or not isinstance(primitives, Sequence) or not primitives:
        raise ValueError(f"primitives={primitives!r} must be a non-empty list of operation names")
    unknown = [p for p in primitives if p not in op_names()]
    if unknown:
        raise ValueError(f"primitives {unknown} are not registered operations: {op_names()}")
    if len(set(primitives)) != len(primitives):
        raise ValueError(f"primitives={list(primitives)} repeat a name")
    if all(p == "none" for p in primitives):
        raise ValueError("primitives must contain an operation other than 'none'")
    if not isinstance(edge_normalization, bool):
        raise ValueError(f"edge_normalization={edge_normalization!r} must be True or False")
    if execution not in EXECUTIONS:
        raise ValueError(f"execution={execution!r} is not one of {list(EXECUTIONS)}")
    return SearchNetwork(
        C, layers, num_classes, dim, in_channels, steps, multiplier, stem_multiplier,
        primitives, edge_normalization, partial_channels, execution,
    )


__all__ = ["EXECUTIONS", "SearchCell", "SearchNetwork", "mixed_op", "search_network"]
