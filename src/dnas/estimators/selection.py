"""Pieces of DARTSRegressor's fit: the loss per output type, the search's stopping rule, and the
starting points and candidate orders of the discrete refinement (:mod:`dnas.estimators.fitting`).
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F

from dnas.arch.architecture import Architecture
from dnas.bilevel.loop import Callback, Searcher
from dnas.estimators.fitting import term_cost
from dnas.space.binding import bind
from dnas.space.modules import LayerChoice
from dnas.spaces.expression.network import ExpressionNetwork
from dnas.spaces.expression.primitives import Primitive


def loss_for(output_type: str):
    if output_type == "real":
        def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.mse_loss(out.reshape(y.shape), y)

        return mse

    def sigmoid_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(torch.sigmoid(out.reshape(y.shape)), y)

    return sigmoid_mse


def dense_architectures(network: ExpressionNetwork) -> list[Architecture]:
    """One start per node combination: every edge a scaled copy of its source (``mult``, else
    ``linear``, else ``add``), every node that combination — ``(Σ a_i x_i) · (Σ b_i x_i)`` and
    the like, from which the refinement drops the terms the data do not need. Reaches products
    and ratios that no single change of the derived architecture can reach.
    """
    groups = bind(network)
    ops = next((g.names for label, g in groups.items() if label.endswith("_op")), ("add",))
    edge_pick = next((p for p in ("mult", "linear", "add") if p in network.primitives), None)
    if edge_pick is None:
        return []
    starts = []
    for op in ops:
        chosen = {}
        for label in groups:
            chosen[label] = [op if label.endswith("_op") else edge_pick]
        starts.append(Architecture(chosen))
    return starts


def edge_costs(network: ExpressionNetwork) -> dict[str, dict[str, int]]:
    """``{edge label: {candidate: complexity}}`` (node combinations excluded)."""
    out = {}
    for label, edge in network.edges.items():
        candidates = cast(LayerChoice, edge).candidates.items()
        out[label] = {n: term_cost(n, len(cast(Primitive, op).coefficients))
                      for n, op in candidates}
    return out


def ranked_candidates(network: ExpressionNetwork) -> dict[str, tuple[str, ...]]:
    """Every label's candidates, most probable first (the refinement tries them in this order)."""
    out = {}
    for label, g in bind(network).items():
        p = g.probabilities().tolist()
        out[label] = tuple(g.names[i] for i in sorted(range(len(p)), key=lambda i: -p[i]))
    return out


class StableArchitecture(Callback):
    """Stop the search once it has settled.

    Settled means: the derived architecture has been the same for ``patience`` epochs, or it is
    the same as one epoch ago while the training loss improved by less than ``tol`` (relative)
    over that epoch — the coefficients have converged for this mixture and α moves too slowly
    to change the derivation soon.

    "The same" is up to ties: a label keeps its choice while that candidate's probability stays
    within ``tie`` (relative) of the largest. Candidates that close are a coin flip for the
    derivation (α starts as 1e-3-scale noise, and a slow α learning rate keeps it there for many
    epochs); the discrete refinement that follows decides between them on the data.
    """

    def __init__(self, network: ExpressionNetwork, patience: int | None, tol: float,
                 tie: float = 0.01) -> None:
        self.network, self.patience, self.tol, self.tie = network, patience, tol, tie
        self.choice: dict[str, int] | None = None
        self.last_loss = math.inf
        self.stable = 0

    def _update(self) -> bool:
        """Update the reference choices; whether any label changed beyond a tie."""
        changed = self.choice is None
        choice = dict(self.choice or {})
        for label, g in bind(self.network).items():
            p = g.probabilities().double()
            best = int(torch.argmax(p))
            kept = choice.get(label)
            if kept is None or p[kept] < (1 - self.tie) * p[best]:
                changed = changed or kept is not None
                choice[label] = best
        self.choice = choice
        return changed

    def on_epoch_end(self, searcher: Searcher) -> None:
        if self.patience is None:
            return
        loss = searcher.history[-1]["train_loss"]
        if not math.isfinite(loss):
            searcher.stop()  # a diverged mixture will not come back; derive from what we have
            return
        self.stable = 0 if self._update() else self.stable + 1
        plateau = loss > (1 - self.tol) * self.last_loss
        self.last_loss = loss
        if self.stable >= self.patience or (self.stable >= 1 and plateau):
            searcher.stop()


__all__ = ["StableArchitecture", "dense_architectures", "edge_costs", "loss_for",
           "ranked_candidates"]
