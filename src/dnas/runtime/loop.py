"""The skeleton every training loop of dnas shares (the search's :class:`dnas.Searcher`, the
retraining :class:`dnas.train.Trainer`): where it stands, what it has recorded, how an epoch ends.

A loop counts ``epoch`` and ``step`` (within the epoch), keeps one history row per epoch and the
epoch's running :class:`~dnas.runtime.meters.Meters`, and calls its callbacks. Ending an epoch is
always the same: record the row, step the learning-rate schedule, move to the next epoch, reset
the meters, then tell the callbacks (which see the row already in ``history``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from dnas.runtime.callbacks import Callback
from dnas.runtime.meters import Meters


class LoopState:
    """Position, history, meters and callbacks of a loop; subclassed by the loops.

    Attributes
    ----------
    epoch, step : int
        Epochs done, and steps done in the current epoch.
    history : list of dict
        One row per finished epoch.
    meters : Meters
        The current epoch's running sums.
    callbacks : list of Callback
    resume_rng : dict or None
        Global RNG state of a loaded checkpoint, applied when the loop's ``run`` starts.
    """

    def _init_state(
        self, splits: Iterable[str], device: torch.device, callbacks: Sequence[Callback]
    ) -> None:
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.meters = Meters(splits, device)
        self.callbacks = list(callbacks)
        self.resume_rng: Mapping[str, Any] | None = None
        self._epoch_start = time.perf_counter()

    def epoch_seconds(self) -> float:
        """Wall time since the current epoch started."""
        return time.perf_counter() - self._epoch_start

    def _finish_epoch(
        self, row: dict[str, Any], scheduler: Any, bar: Any, **postfix: Any
    ) -> None:
        self.history.append(row)
        scheduler.step()
        self.epoch += 1
        self.step = 0
        self.meters.reset()
        self._epoch_start = time.perf_counter()
        bar.set_postfix(epoch=self.epoch, **postfix)
        for cb in self.callbacks:
            cb.on_epoch_end(self)

    def _end_step(self, bar: Any) -> None:
        self.step += 1
        bar.update(1)
        for cb in self.callbacks:
            cb.on_step_end(self)

    def _progress_state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "step": self.step, "history": self.history,
                "meters": self.meters.state_dict()}

    def _load_progress(self, state: Mapping[str, Any]) -> None:
        self.epoch, self.step = state["epoch"], state["step"]
        self.history = list(state["history"])
        self.meters.load_state_dict(state["meters"])
        # applied by run() after its own seeding, which would otherwise overwrite it
        self.resume_rng = {"global_rng": state["global_rng"], "cuda_rng": state.get("cuda_rng")}


__all__ = ["LoopState"]
