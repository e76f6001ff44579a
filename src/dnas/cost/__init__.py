"""Cost of architectures: parameters, FLOPs and measured latency, expected under α and exact.

    CostModel(model, kind, example_input)   the cost of every architecture of a search model
    LatencyTable(path, device=...)          blocks timed once on a device, cached on disk
    BudgetPenalty(cost_model, budget, ...)  the penalty dnas.search(cost=, budget=) adds
    sample_in_band(cost_model, low, high)   random architectures within a cost band
    validation_loss(model, batches)         the fixed net's loss: a score for .export and .search
"""

from dnas.cost.budget import EXPORTS, PENALTIES, BudgetPenalty, penalty, validation_loss
from dnas.cost.latency import LatencyTable
from dnas.cost.model import KINDS, CostModel
from dnas.cost.sampling import sample_in_band

__all__ = ["EXPORTS", "KINDS", "PENALTIES", "BudgetPenalty", "CostModel", "LatencyTable",
           "penalty", "sample_in_band", "validation_loss"]
