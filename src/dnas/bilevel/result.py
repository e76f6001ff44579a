"""What a search returns (:class:`SearchResult`) and the hooks it calls (:class:`Callback`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import nn

from dnas.arch.architecture import Architecture
from dnas.bilevel.config import SearchConfig

if TYPE_CHECKING:
    from dnas.bilevel.loop import Searcher


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


class Callback:
    """Hooks called by the search; override what you need. ``searcher.stop()`` ends the run."""

    def on_step_end(self, searcher: Searcher) -> None:
        """After each weight step (``searcher.step`` has already been incremented)."""

    def on_epoch_end(self, searcher: Searcher) -> None:
        """After each epoch, once its row is in ``searcher.history``."""
