"""What a run folder shows: the per-epoch CSV, the plot of α over epochs, the loss curves.

Plots use matplotlib's Agg backend, chosen inside the plotting functions (never at import, so that
importing dnas does not change an interactive session's backend).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnas.runtime.atomic import atomic_writer

SCALARS = ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc",
           "lr", "drop_path_prob", "seconds", "expected_cost", "argmax_cost", "cost_penalty")


def history_columns(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Scalar columns present in ``history``, then ``alpha:<label>:<i>`` and ``p:<label>:<i>``."""
    if not history:
        return []
    first = history[0]
    cols = [c for c in SCALARS if c in first]
    for key, prefix in (("alpha", "alpha"), ("probabilities", "p")):
        for label, values in first.get(key, {}).items():
            cols += [f"{prefix}:{label}:{i}" for i in range(len(values))]
    return cols


def _cell(value: Any) -> Any:
    # NaN marks "not measured" (no accuracy for regression targets): an empty cell, not "nan"
    return "" if isinstance(value, float) and math.isnan(value) else value


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    flat = {c: _cell(row[c]) for c in SCALARS if c in row}
    for key, prefix in (("alpha", "alpha"), ("probabilities", "p")):
        for label, values in row.get(key, {}).items():
            for i, v in enumerate(values):
                flat[f"{prefix}:{label}:{i}"] = _cell(v)
    return flat


def write_history_csv(history: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write one row per epoch (scalars, then every label's α and probabilities) atomically."""
    with atomic_writer(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=history_columns(history), extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow(_flatten(row))
    return Path(path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_alpha(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    names: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """One panel per label: each candidate's probability over epochs.

    Parameters
    ----------
    history : rows with ``epoch`` and ``probabilities`` ({label: [p_0, p_1, ...]}).
    names : {label: candidate names}, optional
        Legend entries (default: candidate indices).
    """
    plt = _pyplot()
    labels = list(history[0]["probabilities"]) if history else []
    ncols = min(4, max(len(labels), 1))
    nrows = max(math.ceil(len(labels) / ncols), 1)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.2 * nrows), squeeze=False,
                             sharex=True, sharey=True)
    epochs = [row["epoch"] for row in history]
    handles, legend = None, None
    for ax, label in zip(axes.flat, labels):
        series = list(zip(*[row["probabilities"][label] for row in history]))
        cand = list(names.get(label, [])) if names else []
        lines = []
        for values in series:
            (line,) = ax.plot(epochs, values, marker="." if len(epochs) < 20 else None)
            lines.append(line)
        ax.set_title(label, fontsize=8, pad=2)
        ax.tick_params(labelsize=6)
        if handles is None or len(lines) > len(handles):
            handles = lines
            legend = cand if len(cand) == len(lines) else [str(i) for i in range(len(lines))]
    for ax in list(axes.flat)[len(labels):]:
        ax.set_visible(False)
    if handles:
        fig.legend(handles, legend, loc="lower center", ncol=min(len(handles), 8), fontsize=7)
    from matplotlib.ticker import MaxNLocator

    if len(epochs) <= 12:  # shared by all panels
        axes.flat[0].set_xticks(epochs)
    else:
        axes.flat[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.supxlabel("epoch", fontsize=8, y=0.5 / (2.2 * nrows))
    fig.supylabel("probability", fontsize=8)
    # fixed margins: tight_layout over dozens of panels costs seconds
    fig.subplots_adjust(left=0.06, right=0.99, top=1 - 0.35 / (2.2 * nrows),
                        bottom=1.0 / (2.2 * nrows), hspace=0.35, wspace=0.08)
    return _save(fig, plt, path)


def plot_losses(history: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Loss curves (left) and accuracies (right) over epochs, for every split in ``history``."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = [row["epoch"] for row in history]
    for split in ("train", "valid", "test"):
        for ax, what in ((ax_loss, "loss"), (ax_acc, "acc")):
            key = f"{split}_{what}"
            if history and key in history[0]:
                values = [row[key] for row in history]
                if not all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
                    ax.plot(epochs, values, marker="o", markersize=3, label=split)
    for ax, title in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        if ax.lines:
            ax.legend()
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.9, wspace=0.22)
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    try:
        with atomic_writer(path, "wb") as fh:
            fig.savefig(fh, dpi=90, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path
