"""What a search returns (:class:`SearchResult`, one history row per epoch) and the hooks it calls
(:class:`Callback`, shared with retraining: :mod:`dnas.runtime.callbacks`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from dnas.arch.architecture import Architecture
from dnas.bilevel.config import SearchConfig
from dnas.runtime.callbacks import Callback
from dnas.space.modules import ArchParams


@dataclass
class SearchResult:
    """What :func:`dnas.search` returns.

    Attributes
    ----------
    architecture : Architecture
        The derived discrete architecture.
    history : list of dict
        One row per epoch: ``epoch``, ``train_loss``, ``train_acc``, ``valid_loss``,
        ``valid_acc``, ``lr``, ``seconds``, and ``probabilities`` / ``alpha`` per label.
    model : nn.Module
        The search model, trained in place.
    config : SearchConfig
        The resolved configuration.
    """

    architecture: Architecture
    history: list[dict[str, Any]]
    model: nn.Module
    config: SearchConfig = field(repr=False)


def history_row(
    epoch: int,
    metrics: Mapping[str, float],
    lr: float,
    seconds: float,
    groups: Mapping[str, ArchParams],
) -> dict[str, Any]:
    """One row of :attr:`SearchResult.history` (``metrics``: :meth:`dnas.runtime.Meters.summary`
    of the ``train`` and ``valid`` splits)."""
    return {
        "epoch": epoch,
        "train_loss": metrics["train_loss"],
        "train_acc": metrics["train_acc"],
        "valid_loss": metrics["valid_loss"],
        "valid_acc": metrics["valid_acc"],
        "lr": lr,
        "seconds": seconds,
        "probabilities": {k: g.probabilities().tolist() for k, g in groups.items()},
        "alpha": {k: g.alpha.detach().tolist() for k, g in groups.items()},
    }


__all__ = ["Callback", "SearchResult", "history_row"]
