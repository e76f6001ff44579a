"""TensorBoard logging of a search or a retraining run, as a :class:`~dnas.Callback`.

Written with ``torch.utils.tensorboard`` (which needs the ``tensorboard`` package:
``pip install 'dnas[tensorboard]'``); the tags, by group:

* ``step/<metric>``: every ``every_steps`` steps, the running means of the current epoch
  (``train_loss``, ``train_acc``, ``valid_loss``, ``valid_acc``) and the learning rate ``lr``,
  against the global step;
* ``epoch/<key>``: every number of the epoch's history row (losses, accuracies, ``lr``,
  ``seconds``, ``drop_path_prob``, and under a budget ``expected_cost``, ``argmax_cost``,
  ``cost_penalty`` and the ``budget`` itself; a nested mapping of numbers becomes
  ``epoch/<key>/<name>``), against the epoch;
* ``alpha_entropy/<label>``: the entropy (nats) of each label's distribution over its candidates,
  ``H = -Σ_i p_i log p_i`` with ``p`` normalised to sum 1 (independent sigmoids, as in Fair
  DARTS, are normalised first); ``probability/<label>/<candidate>``: each ``p_i``;
* ``alpha/<label>``: a histogram per epoch whose bucket ``i`` holds candidate ``i``'s probability
  (the histogram dashboard then shows the distribution sharpen over the epochs);
* ``cell/normal``, ``cell/reduce``: the derived cells of a DARTS search drawn as images, and
  ``architecture``: the derived architecture as JSON text, every epoch of a search.

The run folder's CSV and PNG files are written as before; this adds an event file beside them.
"""

from __future__ import annotations

import importlib.util
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dnas.runtime.callbacks import Callback


def _writer_class() -> Any:
    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError(
            "TensorBoard logging needs the tensorboard package: pip install 'dnas[tensorboard]' "
            "(or pip install tensorboard)"
        )
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter


def entropy(probabilities: Sequence[float]) -> float:
    """Entropy in nats of ``probabilities`` normalised to sum 1 (0 log 0 = 0)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    total = p.sum()
    if not total > 0:
        return math.nan
    p = p / total
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


class TensorBoard(Callback):
    """Write a run's scalars, α distributions and cell diagrams for TensorBoard.

    Works as a callback of :func:`dnas.search` / :class:`dnas.Searcher` and of
    :class:`dnas.train.Trainer` / :func:`dnas.train.retrain`.

    Parameters
    ----------
    log_dir : path-like
        Folder of the event file (created).
    every_steps : int
        Write the ``step/`` scalars every this many steps (0: epoch ends only). Each write reads
        the running sums from the device once.
    diagrams : bool
        Draw the derived DARTS cells every epoch of a search (``cell/...`` images).

    Raises
    ------
    ImportError
        When the ``tensorboard`` package is not installed (at construction, before any run).

    Examples
    --------
    >>> board = dnas.TensorBoard("runs/tb")                         # doctest: +SKIP
    >>> dnas.search(model, train, valid, callbacks=[board]); board.close()
    """

    def __init__(
        self, log_dir: str | os.PathLike[str], *, every_steps: int = 10, diagrams: bool = True
    ) -> None:
        if isinstance(every_steps, bool) or not isinstance(every_steps, int) or every_steps < 0:
            raise ValueError(f"every_steps={every_steps!r} must be an integer >= 0")
        self.log_dir = Path(log_dir)
        self.every_steps = every_steps
        self.diagrams = bool(diagrams)
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"log_dir={str(log_dir)!r} cannot be used as a TensorBoard log "
                             f"folder: {err.strerror or err}") from None
        self.writer = _writer_class()(log_dir=str(self.log_dir))
        self._described: set[str] = set()

    # ------------------------------------------------------------------ hooks
    def on_step_end(self, loop: Any) -> None:
        """Running means and the learning rate every ``every_steps`` steps."""
        if not self.every_steps or loop.step % self.every_steps:
            return
        step = loop.epoch * loop.steps_per_epoch + loop.step
        meters = getattr(loop, "meters", None)
        if meters is not None:
            for key, value in meters.summary().items():
                if math.isfinite(value):
                    self.writer.add_scalar(f"step/{key}", value, step)
        optimizer = getattr(loop, "w_optimizer", None) or getattr(loop, "optimizer", None)
        if optimizer is not None:
            self.writer.add_scalar("step/lr", optimizer.param_groups[0]["lr"], step)

    def on_epoch_end(self, loop: Any) -> None:
        """The epoch's history row, α per label, and (search) the derived cells."""
        row = loop.history[-1]
        epoch = int(row.get("epoch", len(loop.history)))
        self.log_row(row, epoch, self._candidate_names(loop))
        budget = getattr(getattr(loop, "config", None), "budget", None)
        if isinstance(budget, (int, float)) and "budget" not in row:  # beside expected_cost
            self.writer.add_scalar("epoch/budget", float(budget), epoch)
        if hasattr(loop, "groups"):  # a search: its current architecture
            self._architecture(loop, epoch)
        self.writer.flush()

    # ------------------------------------------------------------------ pieces
    def log_row(
        self,
        row: Mapping[str, Any],
        epoch: int,
        names: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Write one history row (also usable on a finished run's ``history``)."""
        for key, value in row.items():
            if key in ("epoch", "alpha", "probabilities"):
                continue
            if _number(value):
                if math.isfinite(float(value)):
                    self.writer.add_scalar(f"epoch/{key}", float(value), epoch)
            elif isinstance(value, Mapping):
                for sub, v in value.items():
                    if _number(v) and math.isfinite(float(v)):
                        self.writer.add_scalar(f"epoch/{key}/{sub}", float(v), epoch)
        for label, probs in row.get("probabilities", {}).items():
            cand = list((names or {}).get(label, ())) or [str(i) for i in range(len(probs))]
            self.writer.add_scalar(f"alpha_entropy/{label}", entropy(probs), epoch)
            for name, p in zip(cand, probs):
                self.writer.add_scalar(f"probability/{label}/{name}", float(p), epoch)
            self._histogram(label, probs, epoch)
            if label not in self._described:  # once: which bucket is which candidate
                self.writer.add_text(f"candidates/{label}", "histogram buckets: " + ", ".join(
                    f"{i}={n}" for i, n in enumerate(cand)), epoch)
                self._described.add(label)

    def _histogram(self, label: str, probs: Sequence[float], epoch: int) -> None:
        p = np.asarray(probs, dtype=np.float64)
        idx = np.arange(len(p), dtype=np.float64)
        self.writer.add_histogram_raw(
            f"alpha/{label}", min=0.0, max=float(len(p) - 1), num=float(p.sum()),
            sum=float((idx * p).sum()), sum_squares=float((idx**2 * p).sum()),
            bucket_limits=(idx + 0.5).tolist(), bucket_counts=p.tolist(), global_step=epoch,
        )

    @staticmethod
    def _candidate_names(loop: Any) -> dict[str, list[str]]:
        groups = getattr(loop, "groups", None) or {}
        return {label: [str(n) for n in g.names] for label, g in groups.items()}

    def _architecture(self, loop: Any, epoch: int) -> None:
        from dnas.arch.derivation import derive

        arch = derive(loop.model)
        self.writer.add_text("architecture", f"```\n{arch.to_json()}\n```", epoch)
        if not self.diagrams:
            return
        from dnas.spaces.darts import draw_cell, validate_architecture

        try:
            validate_architecture(arch)
        except ValueError:
            return  # not a DARTS cell architecture: the JSON text is all there is
        from PIL import Image

        with tempfile.TemporaryDirectory() as tmp:
            try:
                paths = draw_cell(arch, Path(tmp) / "cell", cell="both", format="png")
            except (OSError, RuntimeError):
                return  # a diagram is a convenience: never fail the run on it
            for path in paths:
                with Image.open(path) as img:
                    pixels = np.asarray(img.convert("RGB"))
                cell = path.stem.removeprefix("cell_")
                self.writer.add_image(f"cell/{cell}", pixels, epoch, dataformats="HWC")

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()

    def __enter__(self) -> TensorBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
