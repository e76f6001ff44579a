"""A tabular benchmark: every unique cell of a space trained once (or more), looked up instantly.

Like NAS-Bench-201 (Dong & Yang, 2020), a search is scored by looking its architecture up instead
of retraining it. A query is canonicalised first (dead edges, isomorphic node orders and identity
edges do not matter: :func:`dnas.spaces.nb201.canonical`), so every equivalent cell finds the same
row. Scores are over the table's rows (unique cells):

* ``test_acc`` / ``valid_acc``: mean over the training seeds the row has (``*_std``: their
  standard deviation, 0 with one seed);
* ``percentile``: the share of rows whose mean test accuracy is at most this one's (100 = best);
* ``regret``: the optimum's mean test accuracy minus this one's, in percentage points;
* ``rank``: 1 for the best row.

A table may be **partial** (a build still running or stopped early): it then knows how many unique
cells the space has (``space_size``, from its metadata), says so (``coverage``, ``complete``,
``repr``), scores against the cells it holds, and a query of a cell it lacks raises ``KeyError``
naming the coverage (:meth:`Table.get` returns ``None`` instead). A build in
``benchmarks/tabular_build.py`` trains the cells in a seeded random order, so a partial table is a
uniform sample of the space.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import random as _random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean, pstdev
from typing import Any

from dnas.arch.architecture import Architecture
from dnas.runtime.checks import check_bool, check_int
from dnas.spaces.nb201.equivalence import canonical, cell_key
from dnas.spaces.nb201.structure import EDGES, OPS, check_ops, to_architecture, to_ops, to_string


@dataclass(frozen=True)
class Entry:
    """What the table says about one architecture (accuracies as fractions in [0, 1]).

    Attributes
    ----------
    arch : str
        The row's canonical cell (NAS-Bench-201 string).
    test_acc, test_std, valid_acc, valid_std : float
        Mean and standard deviation over the row's seeds.
    test_loss, valid_loss : float
        Mean over seeds.
    seeds : int
        How many training seeds the row has.
    percentile : float
        Share of rows (in %) whose mean test accuracy is at most this one's.
    regret : float
        Optimum's mean test accuracy minus this one's, in percentage points.
    rank : int
        1 = the best row by mean test accuracy.
    params, flops : int
        Parameters and forward FLOPs per sample of the fixed network.
    train_seconds : float
        Mean training time (wall clock, one CPU thread on the build machine: it grows with the
        machine's load).
    train_cpu_seconds : float or None
        Mean CPU time of the training (None when the table does not record it).
    """

    arch: str
    test_acc: float
    test_std: float
    valid_acc: float
    valid_std: float
    test_loss: float
    valid_loss: float
    seeds: int
    percentile: float
    regret: float
    rank: int
    params: int
    flops: int
    train_seconds: float
    train_cpu_seconds: float | None = None

    @property
    def architecture(self) -> Architecture:
        """The row's cell as a :class:`dnas.Architecture`."""
        return to_architecture(self.arch)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Table:
    """A loaded tabular benchmark (see :func:`dnas.bench.load`).

    Parameters
    ----------
    rows : sequence of mapping
        One mapping per (cell, seed) training run with at least ``arch`` (NAS-Bench-201 string),
        ``seed``, ``test_acc``, ``valid_acc``, ``test_loss``, ``valid_loss``, ``params``,
        ``flops``, ``seconds``; rows of one cell are averaged.
    name : str
        The table's name.
    ops : sequence of str
        The space's operations (queries using others are rejected).
    meta : dict, optional
        How the table was built (recipe, data, command, machine); ``meta["unique_cells"]``, when
        present, is the number of unique cells of the whole space (``space_size``).

    Attributes
    ----------
    space_size : int or None
        Unique cells of the space (None when the metadata does not say).
    """

    def __init__(
        self,
        rows: Sequence[Mapping[str, Any]],
        name: str,
        ops: Sequence[str] = OPS,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.ops = check_ops(ops)
        self.meta = dict(meta or {})
        runs: dict[str, list[Mapping[str, Any]]] = {}
        self._by_key: dict[Any, str] = {}  # cell_key -> the row's (stored) architecture string
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise ValueError(f"table {name!r}: rows={type(rows).__name__} must be a list of "
                             "mappings column -> value")
        for i, row in enumerate(rows):
            _check_row(name, i, row)
            key = self._by_key.setdefault(cell_key(row["arch"]), str(row["arch"]))
            runs.setdefault(key, []).append(row)
        if not runs:
            raise ValueError(f"table {name!r} has no rows")
        self._stats: dict[str, dict[str, Any]] = {}
        for key, rs in runs.items():
            test = [float(r["test_acc"]) for r in rs]
            valid = [float(r["valid_acc"]) for r in rs]
            self._stats[key] = {
                "test_acc": fmean(test), "test_std": pstdev(test) if len(test) > 1 else 0.0,
                "valid_acc": fmean(valid), "valid_std": pstdev(valid) if len(valid) > 1 else 0.0,
                "test_loss": fmean(float(r["test_loss"]) for r in rs),
                "valid_loss": fmean(float(r["valid_loss"]) for r in rs),
                "seeds": len(rs), "params": int(float(rs[0]["params"])),
                "flops": int(float(rs[0]["flops"])),
                "train_seconds": fmean(float(r["seconds"]) for r in rs),
                "train_cpu_seconds": (fmean(float(r["cpu_seconds"]) for r in rs)
                                      if all(r.get("cpu_seconds") not in (None, "") for r in rs)
                                      else None),
            }
        size = self.meta.get("unique_cells")
        self.space_size: int | None = None
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < len(self._stats):
                raise ValueError(
                    f"table {name!r}: meta unique_cells={size!r} must be an integer >= the "
                    f"{len(self._stats)} unique cells of its rows"
                )
            self.space_size = size
        self._sorted = sorted(s["test_acc"] for s in self._stats.values())
        self._best = max(self._stats, key=lambda k: (self._stats[k]["test_acc"], k))

    def __len__(self) -> int:
        return len(self._stats)

    def __contains__(self, architecture: object) -> bool:
        try:
            return self._key(architecture) in self._stats  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    @property
    def coverage(self) -> float | None:
        """Share of the space's unique cells the table holds (None if the size is unknown)."""
        return None if self.space_size is None else len(self) / self.space_size

    @property
    def complete(self) -> bool | None:
        """Whether every unique cell of the space has a row (None if the size is unknown)."""
        return None if self.space_size is None else len(self) == self.space_size

    def coverage_text(self) -> str:
        """``"1011 unique cells (complete)"`` or ``"700 of 1011 unique cells (69.2%, partial)"``."""
        if self.space_size is None:
            return f"{len(self)} unique cells"
        if self.complete:
            return f"{len(self)} unique cells (complete)"
        return (f"{len(self)} of {self.space_size} unique cells "
                f"({100 * len(self) / self.space_size:.1f}%, partial)")

    def __repr__(self) -> str:
        return f"Table({self.name!r}, {self.coverage_text()}, ops={list(self.ops)})"

    def _key(self, architecture: Architecture | Mapping[str, Any] | Sequence[str] | str) -> str:
        if isinstance(architecture, (Mapping, str)):
            ops = to_ops(architecture)
        elif isinstance(architecture, Sequence) and all(isinstance(o, str) for o in architecture):
            ops = tuple(architecture)
        else:
            raise ValueError(
                f"architecture={architecture!r} must be a dnas.Architecture, a mapping label -> "
                "operation, an NB201 string ('|op~0|+|op~0|op~1|+|op~0|op~1|op~2|') or a "
                "sequence of 6 operation names"
            )
        bad = sorted(set(ops) - set(self.ops))
        if bad:
            raise ValueError(
                f"architecture uses operation(s) {bad} that table {self.name!r} does not have; "
                f"its operations: {list(self.ops)}"
            )
        return self._by_key.get(cell_key(ops), to_string(canonical(ops)))

    def _entry(self, key: str) -> Entry:
        s = self._stats[key]
        n = len(self._sorted)
        at_most = bisect.bisect_right(self._sorted, s["test_acc"])
        better = n - at_most
        return Entry(
            arch=key, percentile=100.0 * at_most / n,
            regret=100.0 * (self._stats[self._best]["test_acc"] - s["test_acc"]),
            rank=better + 1, **s,
        )

    def query(self, architecture: Architecture | Mapping[str, Any] | Sequence[str] | str) -> Entry:
        """The row of ``architecture`` (a :class:`dnas.Architecture`, a mapping label -> op, a
        NAS-Bench-201 string, or six operations in EDGES order)."""
        key = self._key(architecture)
        if key not in self._stats:
            hint = ""
            if self.complete is False:
                hint = ("; the table is partial, so this cell was not trained yet (train it with "
                        "dnas.bench.train_row(arch, table.recipe(), data, seed))")
            raise KeyError(
                f"table {self.name!r} has no row for {key!r} (it holds "
                f"{self.coverage_text()}){hint}"
            )
        return self._entry(key)

    def get(self, architecture: Architecture | Mapping[str, Any] | Sequence[str] | str
            ) -> Entry | None:
        """Like :meth:`query`, but ``None`` for a cell the table has no row for."""
        key = self._key(architecture)
        return self._entry(key) if key in self._stats else None

    def optimum(self, metric: str = "test_acc") -> Entry:
        """The best row by mean ``metric`` (``"test_acc"`` or ``"valid_acc"``)."""
        if metric not in ("test_acc", "valid_acc"):
            raise ValueError(f"metric={metric!r} must be 'test_acc' or 'valid_acc'")
        return self._entry(max(self._stats, key=lambda k: (self._stats[k][metric], k)))

    def entries(self) -> list[Entry]:
        """Every row, best first."""
        return sorted((self._entry(k) for k in self._stats), key=lambda e: e.rank)

    def random(self, seed: int | _random.Random | None = None, *,
               in_table: bool = False) -> Architecture:
        """A cell drawn uniformly from the space (every edge an independent uniform operation),
        as a random search would draw it; its row is ``query(...)`` of the result.

        With ``in_table=True`` draws are repeated until the cell has a row (on a complete table
        every draw has one). On a partial table built in random order this is the random
        search's distribution restricted to the cells trained so far.
        """
        if not isinstance(seed, _random.Random):
            seed = check_int("seed", seed, 0, none_ok=True)
        check_bool("in_table", in_table)
        rng = seed if isinstance(seed, _random.Random) else _random.Random(
            None if seed is None else int(seed))
        while True:
            ops = tuple(rng.choice(self.ops) for _ in EDGES)
            if not in_table or self._key(ops) in self._stats:
                return to_architecture(ops)

    def recipe(self) -> Any:
        """The :class:`dnas.bench.Recipe` the table was built with (from its metadata)."""
        from dnas.bench.recipe import Recipe

        recipe = self.meta.get("recipe")
        if not isinstance(recipe, Mapping):
            raise ValueError(f"table {self.name!r} does not record its recipe")
        return Recipe(**{k: v for k, v in recipe.items() if k != "epochs"},
                      epochs=int(self.meta.get("epochs") or recipe.get("epochs", 10)))

    def data_text(self) -> str:
        """The table's data set in words (name and generator options)."""
        r = self.recipe()
        options = ", ".join(f"{k}={v}" for k, v in r.data_options.items())
        return f"{r.data}({options})" if options else r.data

    def to_csv(self) -> str:
        """The aggregated rows as CSV text (one line per unique cell, best first)."""
        out = io.StringIO()
        entries = self.entries()
        writer = csv.DictWriter(out, fieldnames=list(entries[0].to_dict()))
        writer.writeheader()
        for e in entries:
            writer.writerow(e.to_dict())
        return out.getvalue()

    @classmethod
    def from_csv(cls, text: str, name: str, ops: Sequence[str] = OPS,
                 meta: Mapping[str, Any] | None = None) -> Table:
        """A table from CSV text with one line per training run (the shipped format)."""
        return cls(list(csv.DictReader(io.StringIO(text))), name, ops, meta)


#: Columns every row has: the cell, and numbers (averaged over a cell's rows; finite).
_COLUMNS = ("arch", "test_acc", "valid_acc", "test_loss", "valid_loss", "params", "flops",
            "seconds")


def _check_row(name: str, i: int, row: Any) -> None:
    """A row with every column, each number a finite number (text from a CSV included)."""
    if not isinstance(row, Mapping):
        raise ValueError(f"table {name!r}: row {i} is a {type(row).__name__}, not a mapping "
                         "column -> value")
    missing = [c for c in _COLUMNS if c not in row]
    if missing:
        raise ValueError(f"table {name!r}: row {i} lacks column(s) {missing}")
    for column in _COLUMNS[1:]:
        value = row[column]
        try:
            number = float(value)
            ok = math.isfinite(number) and not isinstance(value, bool)
            if column in ("params", "flops"):
                ok = ok and number.is_integer()
        except (TypeError, ValueError):
            ok = False
        if not ok:
            kind = "an integer" if column in ("params", "flops") else "a finite number"
            raise ValueError(f"table {name!r}: row {i} {column}={value!r} must be {kind}")


def meta_json(meta: Mapping[str, Any]) -> str:
    """The table's build information as JSON text."""
    return json.dumps(dict(meta), indent=2, sort_keys=True)


__all__ = ["Entry", "Table"]
