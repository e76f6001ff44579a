"""A CSV file of samples: a header row, one label column (by name), the rest numeric.

Every row is one sample. The label column is ``label_column``, else the one column named
``label``, ``target``, ``class`` or ``y`` (any case). Columns in ``ignore_columns`` (an id, a
file name...) are dropped; every other column must hold a number in every row. The feature columns
are a table (``layout="tabular"``, see :mod:`dnas.data.layout`) unless they are a numbered series
of at least 8 columns with one prefix (``t0 .. t39``, ``x_1 .. x_128``, ``0 .. 63``): then each row
is one sequence (``layout="NL"``). The delimiter is a tab for ``.tsv`` files, else the one of
``, ; tab |`` that Python's ``csv.Sniffer`` finds in the first 64 KiB (a comma when unsure).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABEL_NAMES = ("label", "target", "class", "y")
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_SNIFF_BYTES = 1 << 16
_BLOCK = 4096


@dataclass(frozen=True)
class Table:
    """The parsed file: float32 features ``(N, F)``, raw labels, names and the layout found."""

    X: np.ndarray
    labels: np.ndarray
    features: tuple[str, ...]
    label_column: str
    layout: str
    line_of_row: np.ndarray  # file line of each sample, for messages


def _open(path: Path):
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None


def delimiter(path: Path) -> str:
    """The field separator of ``path``."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with _open(path) as fh:
        sample = fh.read(_SNIFF_BYTES)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def estimate_rows(path: Path) -> tuple[int, int]:
    """``(rows, columns)`` estimated from the file size and its first 64 KiB (no full read)."""
    size = path.stat().st_size
    with _open(path) as fh:
        head = fh.read(_SNIFF_BYTES)
    lines = head.splitlines()
    if len(lines) < 2:
        return max(len(lines) - 1, 0), 0
    columns = len(next(csv.reader([lines[0]], delimiter=delimiter(path))))
    body = lines[1:-1] if len(head) == _SNIFF_BYTES else lines[1:]  # the last may be cut
    per_line = max(sum(len(s) + 1 for s in body) / max(len(body), 1), 1.0)
    return int(size / per_line), columns


def _label_column(path: Path, header: list[str], label_column: str | None) -> int:
    if label_column is not None:
        if label_column not in header:
            raise ValueError(
                f"{path} has no column {label_column!r} (label_column); its columns: "
                f"{', '.join(header)}"
            )
        return header.index(label_column)
    found = [i for i, name in enumerate(header) if name.strip().lower() in LABEL_NAMES]
    if len(found) != 1:
        which = "none" if not found else ", ".join(header[i] for i in found)
        raise ValueError(
            f"{path}: which column holds the labels? Found {which} of {'/'.join(LABEL_NAMES)} "
            f"among {', '.join(header)}; name it with label_column (--label-column)"
        )
    return found[0]


def _series_layout(names: Sequence[str]) -> str:
    """``"NL"`` for a numbered series of >= 8 columns with one prefix, else ``"tabular"``."""
    if len(names) < 8:
        return "tabular"
    matches = [_NUMBERED.match(n.strip()) for n in names]
    if not all(matches):
        return "tabular"
    prefixes = {m.group(1) for m in matches if m}
    numbers = [int(m.group(2)) for m in matches if m]
    if len(prefixes) == 1 and numbers[0] in (0, 1) and numbers == list(
        range(numbers[0], numbers[0] + len(numbers))
    ):
        return "NL"
    return "tabular"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _labels(raw: list[str]) -> np.ndarray:
    """Integer labels when every value is an integer, floats when all are numbers, else text."""
    try:
        return np.array([int(v) for v in raw], dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    if all(_is_number(v) for v in raw):
        return np.array([float(v) for v in raw], dtype=np.float64)
    return np.array([v.strip() for v in raw], dtype=str)


def read_table(
    path: Path,
    label_column: str | None = None,
    ignore_columns: Sequence[str] = (),
    layout: str = "auto",
) -> Table:
    """Parse ``path``; ``ValueError`` naming the line and column of the first problem."""
    sep = delimiter(path)
    with _open(path) as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ValueError(f"{path} is empty: expected a header row naming the columns")
        header = [h.strip() for h in header]
        if all(_is_number(h) for h in header if h) and len(header) > 1:
            raise ValueError(
                f"the first line of {path} holds numbers, not column names: add a header row "
                "naming the columns (and the label column)"
            )
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise ValueError(f"{path} names column(s) {', '.join(dupes)} more than once")
        missing = [c for c in ignore_columns if c not in header]
        if missing:
            raise ValueError(
                f"{path} has no column(s) {', '.join(missing)} (ignore_columns); its columns: "
                f"{', '.join(header)}"
            )
        y_col = _label_column(path, header, label_column)
        if header[y_col] in ignore_columns:
            raise ValueError(f"the label column {header[y_col]!r} is also in ignore_columns")
        keep = [i for i, h in enumerate(header) if i != y_col and h not in ignore_columns]
        if not keep:
            raise ValueError(f"{path} has no feature columns besides the label {header[y_col]!r}")
        # rows are gathered in float64 blocks: Python lists of floats would take ~8x the memory
        blocks: list[np.ndarray] = []
        rows: list[list[float]] = []
        raw_labels: list[str] = []
        lines: list[int] = []
        for fields in reader:
            if not fields or all(not f.strip() for f in fields):
                continue  # blank line
            if len(fields) != len(header):
                raise ValueError(
                    f"{path}, line {reader.line_num}: {len(fields)} fields, but the header "
                    f"names {len(header)} columns"
                )
            label = fields[y_col]
            if not label.strip():
                raise ValueError(
                    f"{path}, line {reader.line_num}: the label ({header[y_col]!r}) is empty"
                )
            row = []
            for i in keep:
                cell = fields[i]
                try:
                    row.append(float(cell))
                except ValueError:
                    what = "is empty" if not cell.strip() else f"holds {cell.strip()!r}"
                    raise ValueError(
                        f"{path}, line {reader.line_num}: column {header[i]!r} {what}, not a "
                        "number (every feature column must be numeric; drop others with "
                        "ignore_columns / --ignore-columns)"
                    ) from None
            rows.append(row)
            raw_labels.append(label)
            lines.append(reader.line_num)
            if len(rows) == _BLOCK:
                blocks.append(np.asarray(rows, dtype=np.float64))
                rows = []
    if rows:
        blocks.append(np.asarray(rows, dtype=np.float64))
    if not blocks:
        raise ValueError(f"{path} has a header but no rows")
    features = tuple(header[i] for i in keep)
    found = _series_layout(features) if layout == "auto" else layout
    return Table(
        X=np.concatenate(blocks),
        labels=_labels(raw_labels),
        features=features,
        label_column=header[y_col],
        layout=found,
        line_of_row=np.asarray(lines),
    )
