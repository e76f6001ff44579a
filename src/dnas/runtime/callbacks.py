"""Hooks a loop calls: the base class of search and retraining callbacks."""

from __future__ import annotations

from typing import Any


class Callback:
    """Hooks called by a loop (:class:`dnas.Searcher` or :class:`dnas.train.Trainer`); override
    what you need. In a search, ``searcher.stop()`` ends the run after the current step."""

    def on_step_end(self, loop: Any) -> None:
        """After each step (``loop.step`` has already been incremented)."""

    def on_epoch_end(self, loop: Any) -> None:
        """After each epoch, once its row is in ``loop.history``."""


__all__ = ["Callback"]
