"""Checkpoints of a search or a retraining: written atomically, read back safely.

A checkpoint is a loop's ``state_dict()`` (for a search: weights, α, both optimisers, the schedule,
every RNG, the data streams' positions) saved with :func:`torch.save` through
:func:`dnas.runtime.atomic.atomic_writer`, so a run killed at any instant leaves either the
previous checkpoint or the new one, never half of one, and a state holding NaN or infinity is
never written (nor read). Reading uses ``weights_only=True``: a checkpoint cannot run code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dnas.runtime.atomic import atomic_writer, remove_stale_temporaries
from dnas.runtime.callbacks import Callback
from dnas.runtime.checks import check_int
from dnas.runtime.finite import check_state

#: name of the rolling checkpoint inside a checkpoint folder
LAST = "last.pt"


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` to ``path`` atomically (see :mod:`dnas.runtime.atomic`).

    Parameters
    ----------
    state : mapping
        Tensors, numbers, strings and containers of them (what ``torch.load(weights_only=True)``
        accepts).
    path : path-like
        Destination; its folder is created.

    Returns
    -------
    Path

    Raises
    ------
    NonFiniteError
        When a floating tensor of ``state`` holds NaN or infinity: nothing is written, so the
        previous checkpoint stays as it was.
    """
    check_state(state, f"refusing to write checkpoint {str(path)!r}: the state")
    with atomic_writer(path, "wb") as fh:
        torch.save(dict(state), fh)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    ``path`` may be a checkpoint file or a folder holding ``last.pt`` (a run folder's
    ``checkpoints/`` or the run folder itself). Raises ``ValueError`` with one line naming the
    problem when the file is missing, truncated or not a dnas checkpoint.
    """
    file = resolve_checkpoint(path)
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file; report them as one
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot read checkpoint {str(file)!r}: {first}") from None
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{str(file)!r} is not a dnas checkpoint (no 'model' entry)")
    check_state(state, f"checkpoint {str(file)!r} (not written by a healthy run)")
    return state


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """The checkpoint ``path`` names: itself, ``path/last.pt`` or ``path/checkpoints/last.pt``."""
    p = Path(path)
    for candidate in (p, p / LAST, p / "checkpoints" / LAST):
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"no checkpoint at {str(p)!r} (looked for the file, {LAST} and checkpoints/{LAST})"
    )


class Checkpoint(Callback):
    """Save a loop's state every ``every_steps`` steps and at the end of every epoch.

    Works with any loop that has ``step``, ``steps_per_epoch``, ``epoch``, ``state_dict()`` and
    ``meters`` (:class:`dnas.Searcher`, :class:`dnas.train.Trainer`).

    Parameters
    ----------
    folder : path-like
        Where ``last.pt`` is kept (overwritten atomically each time).
    every_steps : int or None, default None
        Also save after every ``every_steps``-th step within an epoch (None or 0: epoch ends only).
    keep_epochs : bool, default False
        Also keep ``epoch_<n>.pt`` after each epoch.
    enabled : bool, default True
        False on non-zero ranks of a multi-process search: only rank 0 writes.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        every_steps: int | None = None,
        keep_epochs: bool = False,
        enabled: bool = True,
    ) -> None:
        check_int("every_steps", every_steps, 0, none_ok=True)
        self.folder = Path(folder)
        self.every_steps = every_steps or 0
        self.keep_epochs = keep_epochs
        self.enabled = enabled
        self.saved = 0

    @property
    def path(self) -> Path:
        return self.folder / LAST

    def on_step_end(self, loop: Any) -> None:
        # the last step of an epoch is saved by on_epoch_end, after the epoch's row exists
        if (self.every_steps and loop.step % self.every_steps == 0
                and loop.step < loop.steps_per_epoch):
            self.save(loop)

    def on_epoch_end(self, loop: Any) -> None:
        self.save(loop)
        if self.keep_epochs and self.enabled:
            save_checkpoint(loop.state_dict(), self.folder / f"epoch_{loop.epoch}.pt")

    def save(self, loop: Any) -> None:
        """Write ``loop.state_dict()`` to :attr:`path` (on every rank's turn; rank 0 writes)."""
        dp = getattr(loop, "data_parallel", None)
        totals = None
        if dp is not None:
            # multi-process: every rank joins the sum, so rank 0's checkpoint holds the epoch's
            # running totals over all ranks (the other ranks restart theirs from zero)
            totals = loop.meters.copy()
            dp.sum_(totals.tensors())
        if self.enabled:
            if not self.saved:  # the folder is ours: a killed writer's temporaries go
                remove_stale_temporaries(self.folder, depth=0)
            state = loop.state_dict()
            if totals is not None:
                state["meters"] = totals.state_dict()
                state["meters_over_ranks"] = True
            save_checkpoint(state, self.path)
            self.saved += 1
