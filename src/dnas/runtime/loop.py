"""The skeleton every training loop of dnas shares (the search's :class:`dnas.Searcher`, the
retraining :class:`dnas.train.Trainer`): where it stands, what it has recorded, how an epoch ends.

A loop counts ``epoch`` and ``step`` (within the epoch), keeps one history row per epoch and the
epoch's running :class:`~dnas.runtime.meters.Meters`, and calls its callbacks. Ending a step is
always the same: check what the step's :class:`~dnas.runtime.finite.FiniteGuard` watched (a NaN
or infinity stops the run there, before any callback could checkpoint it), count it, tell the
callbacks. Ending an epoch is always the same: record the row, step the learning-rate schedule,
move to the next epoch, reset the meters, then tell the callbacks (which see the row already in
``history``). A checkpoint holds the loop's options, and loading one checks first that it fits
(:func:`dnas.runtime.resume.check_resume`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from dnas.runtime.callbacks import Callback
from dnas.runtime.finite import FiniteGuard
from dnas.runtime.meters import Meters
from dnas.runtime.resume import check_resume

#: options that say where a loop runs and how it shows progress, not what it computes
FREE_OPTIONS = ("device", "progress", "cuda_graph")


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
    guard : FiniteGuard
        Watches each step's losses and gradient norms (the loop calls ``guard.watch``).
    resume_rng : dict or None
        Global RNG state of a loaded checkpoint, applied when the loop's ``run`` starts.
    """

    config: Any
    steps_per_epoch: int
    model: torch.nn.Module

    def _init_state(
        self, splits: Iterable[str], device: torch.device, callbacks: Iterable[Callback],
        guard: FiniteGuard,
    ) -> None:
        self.guard = guard
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.meters = Meters(splits, device)
        if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
            raise TypeError(f"callbacks={callbacks!r} must be a list of dnas.Callback objects "
                            "(e.g. callbacks=[dnas.TensorBoard('runs/tb')])")
        self.callbacks = list(callbacks)
        for i, cb in enumerate(self.callbacks):
            if not all(callable(getattr(cb, hook, None)) for hook in ("on_step_end",
                                                                      "on_epoch_end")):
                raise TypeError(f"callbacks[{i}] is a {type(cb).__name__}; callbacks must be "
                                "dnas.Callback objects (on_step_end, on_epoch_end)")
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
        # before the callbacks: a step with a NaN or infinity is never checkpointed
        dp = getattr(self, "data_parallel", None)
        self.guard.check(epoch=self.epoch, step=self.step, fresh=self.epoch == 0 and self.step == 0,
                         reduce=dp.sum_ if dp is not None else None)
        self.step += 1
        bar.update(1)
        for cb in self.callbacks:
            cb.on_step_end(self)

    def _options(self) -> dict[str, Any]:
        return {k: v for k, v in self.config.to_dict().items() if k not in FREE_OPTIONS}

    def _progress_state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "step": self.step, "history": self.history,
                "meters": self.meters.state_dict(), "config": self._options()}

    def _check_resume(self, state: Mapping[str, Any], structural: Iterable[str]) -> None:
        """Before anything is loaded: ``state`` fits this loop's model, length and the options
        in ``structural``; other changed options give a warning."""
        changed = check_resume(
            state, model_state=self.model.state_dict(), config=self._options(),
            epochs=self.config.epochs, steps_per_epoch=self.steps_per_epoch,
            structural=structural, what="the checkpoint",
        )
        if changed:
            warnings.warn(
                f"resuming with changed option(s) {', '.join(changed)}: the result will differ "
                "from an uninterrupted run", UserWarning, stacklevel=4,
            )

    def _load_progress(self, state: Mapping[str, Any]) -> None:
        self.epoch, self.step = state["epoch"], state["step"]
        self.history = list(state["history"])
        self.meters.load_state_dict(state["meters"])
        # applied by run() after its own seeding, which would otherwise overwrite it
        self.resume_rng = {"global_rng": state["global_rng"], "cuda_rng": state.get("cuda_rng")}


__all__ = ["LoopState"]
