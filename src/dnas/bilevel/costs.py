"""The cost-aware part of a search (``cost=``, ``budget=``; :mod:`dnas.cost.budget`): the penalty
built from the configuration on the first batch (FLOPs and latency need an input), and the
architecture a search returns, moved into the budget band when it asks for one."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.arch.derivation import select_architecture
from dnas.bilevel.config import SearchConfig
from dnas.cost.budget import BudgetPenalty, from_options


def penalty(config: SearchConfig, model: nn.Module, x: torch.Tensor) -> BudgetPenalty:
    """The budget penalty ``λ·φ(log E/B)`` of ``config`` for ``model`` on inputs like ``x``."""
    if config.cost is None or config.budget is None:
        raise ValueError("cost= and budget= are both needed for a budget penalty")
    budget = from_options(model, x, config.cost, config.budget, config.cost_weight,
                          config.cost_penalty, config.budget_tolerance, config.cost_options)
    budget.check_reachable()  # before the first step: an impossible budget wastes no search
    return budget


def final_architecture(searcher: Any) -> Architecture:
    """The architecture a search returns: its selection rule's, within the budget band when the
    search has one (its exact cost in ``meta``), with the method and order recorded."""
    cfg: SearchConfig = searcher.config
    architecture = select_architecture(searcher)
    if cfg.cost is not None:
        budget = searcher.budget  # None only when no step ran here (a finished run resumed)
        if budget is None:
            budget = searcher.budget_penalty(searcher.train.next()[0].to(searcher.device))
        if cfg.budget_export == "probability":
            architecture = budget.export(architecture)
        else:
            from dnas.cost.budget import validation_loss
            from dnas.robust.hooks import validation_batches

            score = validation_loss(
                searcher.model,
                validation_batches(searcher, f"budget_export={cfg.budget_export!r}"),
                searcher.loss_fn, searcher.device)
            if cfg.budget_export == "validation":
                architecture = budget.export(architecture, score)
            else:  # "one-shot": the same draws on every process of a torchrun search
                opts = cfg.cost_options
                architecture = budget.search(
                    architecture, score, samples=opts.get("export_samples", 32),
                    max_evaluations=opts.get("export_evaluations", 128),
                    generator=torch.Generator().manual_seed(cfg.seed or 0))
    architecture.meta.setdefault("method", cfg.method)
    architecture.meta.setdefault("order", cfg.order)
    return architecture


__all__ = ["final_architecture", "penalty"]
