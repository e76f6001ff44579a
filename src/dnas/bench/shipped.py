"""The tables shipped with the package, and loading a table by name or from a file.

A table is two files: ``<name>.csv`` (one line per training run: ``arch``, ``seed``, ``epochs``,
accuracies, losses, ``params``, ``flops``, ``seconds``) and ``<name>.json`` (how it was built:
recipe, data, operations, the budget whose rows :func:`load` uses, command, machine, date).
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from dnas.bench.table import Table
from dnas.runtime.checks import check_int


def names() -> list[str]:
    """Names of the tables shipped with the package."""
    folder = resources.files("dnas.bench") / "data"
    if not folder.is_dir():
        return []
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def _check_seeds(seeds: Any) -> tuple[int, ...] | None:
    if seeds is None:
        return None
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds or any(
            isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in seeds):
        raise ValueError(f"seeds={seeds!r} must be a non-empty sequence of training seeds "
                         "(integers >= 0), e.g. [0] or [1, 2]")
    picked = tuple(int(s) for s in seeds)
    if len(set(picked)) != len(picked):
        raise ValueError(f"seeds={list(picked)!r} repeats a seed")
    return picked


def _read(csv_text: str, meta_text: str, name: str, epochs: int | None,
          seeds: tuple[int, ...] | None = None) -> Table:
    import csv
    import io

    try:
        meta: dict[str, Any] = json.loads(meta_text)
    except json.JSONDecodeError as err:
        raise ValueError(f"table {name!r}: malformed metadata JSON: {err}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"table {name!r}: the metadata must be a JSON object, got "
                         f"{type(meta).__name__}")
    budget = int(epochs if epochs is not None else meta.get("epochs", 0)) or None
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    needed = {"arch", "seed", "epochs", "test_acc", "valid_acc", "test_loss", "valid_loss",
              "params", "flops", "seconds"}
    if not rows or not needed <= set(rows[0]):
        raise ValueError(
            f"table {name!r} lacks column(s) {sorted(needed - set(rows[0] if rows else {}))}"
        )
    available = sorted({int(r["epochs"]) for r in rows})
    if budget is not None:
        if budget not in available:
            raise ValueError(
                f"table {name!r} has no rows trained for epochs={budget}; it has {available}"
            )
        rows = [r for r in rows if int(r["epochs"]) == budget]
    if seeds is not None:
        have = sorted({int(r["seed"]) for r in rows})
        missing = sorted(set(seeds) - set(have))
        if missing:
            raise ValueError(f"table {name!r} has no runs of training seed(s) {missing}"
                             + (f" at epochs={budget}" if budget is not None else "")
                             + f"; it has seeds {have}")
        rows = [r for r in rows if int(r["seed"]) in seeds]
        meta["seeds"] = list(seeds)
    meta["epochs"] = budget
    meta["budgets"] = available
    return Table(rows, name, meta.get("ops", ()), meta)


def load(name: str | os.PathLike[str] = "nb201-mnist1d", *, epochs: int | None = None,
         seeds: Sequence[int] | None = None) -> Table:
    """Load a tabular benchmark.

    Parameters
    ----------
    name : str or path-like
        A shipped table (:func:`names`; default ``"nb201-mnist1d"``: the NAS-Bench-201
        four-operation space on MNIST-1D), or the path of a ``.csv`` with its ``.json`` beside it.
    epochs : int, optional
        Which training budget's rows to use (default: the table's main budget).
    seeds : sequence of int, optional
        Use only the runs of these training seeds (default: every seed; a row is the mean over
        its seeds). Disjoint seeds give independent tables: select a cell on one (e.g. by
        ``valid_acc`` of ``seeds=[0]``) and score it on another (``seeds=[1, 2]``), so the
        selection's luck in training does not flatter the score.

    Returns
    -------
    Table
        ``query(architecture)``, ``optimum()``, ``random(seed)``, ``len()``.
    """
    check_int("epochs", epochs, 1, none_ok=True)
    picked = _check_seeds(seeds)
    if isinstance(name, str) and name in names():
        folder = resources.files("dnas.bench") / "data"
        csv_text = (folder / f"{name}.csv").read_text(encoding="utf-8")
        meta_text = (folder / f"{name}.json").read_text(encoding="utf-8")
        return _read(csv_text, meta_text, name, epochs, picked)
    if not isinstance(name, (str, os.PathLike)):
        raise ValueError(f"name={name!r} must be a shipped table's name ({names()}) or the path "
                         "of a table's .csv")
    path = Path(name)
    if path.suffix == ".csv" and not path.is_file():
        raise ValueError(f"table file {str(path)!r} does not exist (shipped tables: {names()})")
    if path.suffix == ".csv":
        meta_path = path.with_suffix(".json")
        if not meta_path.is_file():
            raise ValueError(
                f"table {str(path)!r} has no metadata file {str(meta_path)!r} beside it"
            )
        return _read(path.read_text(encoding="utf-8"), meta_path.read_text(encoding="utf-8"),
                     path.stem, epochs, picked)
    raise ValueError(
        f"unknown table {str(name)!r}; shipped tables: {names()}, or the path of a table's .csv"
    )


__all__ = ["load", "names"]
