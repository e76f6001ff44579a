"""Cost of architectures: parameters, FLOPs and measured latency, expected under α and exact.

    CostModel(model, kind, example_input)   the cost of every architecture of a search model
    LatencyTable(path, device=...)          blocks timed once on a device, cached on disk
    BudgetPenalty(cost_model, budget, ...)  the penalty dnas.search(cost=, budget=) adds
"""

from dnas.cost.budget import PENALTIES, BudgetPenalty, penalty
from dnas.cost.latency import LatencyTable
from dnas.cost.model import KINDS, CostModel

__all__ = ["KINDS", "PENALTIES", "BudgetPenalty", "CostModel", "LatencyTable", "penalty"]
