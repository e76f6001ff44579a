"""Checkpoints of a search (or retraining): written atomically, read back safely.

A checkpoint is ``Searcher.state_dict()`` (weights, α, both optimisers, the schedule, every RNG,
the data streams' positions) saved with :func:`torch.save`. It is written to a temporary file in
the target folder and renamed over the old one (:func:`os.replace` is atomic on POSIX and
Windows), so a run killed at any instant leaves either the previous checkpoint or the new one,
never half of one. Reading uses ``weights_only=True``: a checkpoint cannot run code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dnas.bilevel.loop import Searcher
from dnas.bilevel.result import Callback

#: name of the rolling checkpoint inside a checkpoint folder
LAST = "last.pt"


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder, then rename).

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
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(dict(state), fh)
            fh.flush()
            os.fsync(fh.fileno())  # the rename must not overtake the data on a crash
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
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
    return state


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """The checkpoint ``path`` names: itself, ``path/last.pt`` or ``path/checkpoints/last.pt``."""
    p = Path(path)
    for candidate in (p, p / LAST, p / "checkpoints" / LAST):
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"no checkpoint at {str(p)!r} (looked for the file, {LAST} and checkpoints/{LAST})"
    )


class Checkpoint(Callback):
    """Save the search's state every ``every_steps`` steps and at the end of every epoch.

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
        folder: str | os.PathLike,
        every_steps: int | None = None,
        keep_epochs: bool = False,
        enabled: bool = True,
    ) -> None:
        if every_steps is not None and (
            isinstance(every_steps, bool) or not isinstance(every_steps, int) or every_steps < 0
        ):
            raise ValueError(f"every_steps={every_steps!r} must be a non-negative integer or None")
        self.folder = Path(folder)
        self.every_steps = every_steps or 0
        self.keep_epochs = keep_epochs
        self.enabled = enabled
        self.saved = 0

    @property
    def path(self) -> Path:
        return self.folder / LAST

    def on_step_end(self, searcher: Searcher) -> None:
        # the last step of an epoch is saved by on_epoch_end, after the epoch's row exists
        if (self.every_steps and searcher.step % self.every_steps == 0
                and searcher.step < searcher.steps_per_epoch):
            self.save(searcher)

    def on_epoch_end(self, searcher: Searcher) -> None:
        self.save(searcher)
        if self.keep_epochs and self.enabled:
            save_checkpoint(searcher.state_dict(), self.folder / f"epoch_{searcher.epoch}.pt")

    def save(self, searcher: Searcher) -> None:
        dp = getattr(searcher, "data_parallel", None)
        totals = None
        if dp is not None:
            # multi-process: every rank joins the sum, so rank 0's checkpoint holds the epoch's
            # running totals over all ranks (the other ranks restart theirs from zero)
            totals = {k: v.clone() for k, v in searcher._meters.items()}
            dp.sum_(totals.values())
        if self.enabled:
            state = searcher.state_dict()
            if totals is not None:
                state["meters"] = {k: v.cpu() for k, v in totals.items()}
                state["meters_over_ranks"] = True
            save_checkpoint(state, self.path)
            self.saved += 1
