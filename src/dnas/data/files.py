"""A user's own data from a path: ``.npz``, a pair of ``.npy`` files, CSV, or an image folder.

:func:`load_path` reads the source fully into memory as a :class:`~dnas.data.Dataset`, inferring
what :mod:`dnas.data.layout` explains (tabular, sequences or images; channels), the classes
(:mod:`dnas.data.labels`) and a stratified train/test split when the source has no test part.
Before any data is read, the float32 tensors' size is estimated from array headers, image headers
or the CSV file's size, and a source over ``max_gb`` (default 4 GiB) is refused with the estimate:
the whole set lives in memory (and on the accelerator) during a search, and the search copies its
two halves once more.

Every problem is a ``ValueError`` of one line naming the file and what is wrong.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnas.data import arrays, images, tables
from dnas.data.dataset import Dataset
from dnas.data.labels import Position, check_finite, encode_labels
from dnas.data.layout import LAYOUTS, arrange, check_layout, kind_of
from dnas.data.split import stratified_split
from dnas.runtime.checks import check_float, check_int

#: Default limit on the in-memory size of a user's data set (float32 inputs), in GiB.
MAX_GB = 4.0
TABLE_SUFFIXES = (".csv", ".tsv")
Source = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def source_paths(source: Source) -> list[Path]:
    """The one path (file or folder) or two ``.npy`` paths that ``source`` names.

    A string holding a comma (``"X.npy,y.npy"``) names a pair unless the whole string is an
    existing path.
    """
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if "," in text and not Path(text).expanduser().exists():
            parts = [p.strip() for p in text.split(",")]
        else:
            parts = [text]
    elif isinstance(source, Sequence) and all(isinstance(p, (str, os.PathLike)) for p in source):
        parts = [os.fspath(p) for p in source]
    else:
        raise TypeError(f"data must be a path or a pair of paths, got {source!r}")
    paths = [Path(p).expanduser() for p in parts]
    if not 1 <= len(paths) <= 2:
        raise ValueError(f"data={source!r}: give one path, or two .npy paths (inputs, labels)")
    for p in paths:
        if not p.exists():
            raise ValueError(f"data {str(p)!r} does not exist")
    if len(paths) == 2 and not all(p.suffix.lower() == ".npy" and p.is_file() for p in paths):
        raise ValueError(
            f"data={source!r}: a pair must be two .npy files, the inputs and then the labels"
        )
    return paths


def _check_size(values: int, samples: int, where: str, detail: str, max_gb: float) -> None:
    need = values * 4 + samples * 8  # float32 inputs, int64 labels
    if need > max_gb * 2**30:
        raise ValueError(
            f"{where} needs ~{need / 2**30:.1f} GiB in memory as float32 tensors ({detail}), "
            f"over the {max_gb:g} GiB limit for in-memory data (max_gb / --max-data-gb): use "
            "fewer or smaller samples, or raise the limit if this machine has the memory"
        )


def _float32(X: np.ndarray, where: str) -> np.ndarray:
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{where} has dtype {X.dtype}: inputs must be numbers")
    with np.errstate(over="ignore"):  # values beyond float32 become inf: check_finite says so
        return np.ascontiguousarray(X, dtype=np.float32)


@dataclass
class _Parts:
    """Inputs and raw labels per part ("train", maybe "test") before the common finishing steps."""

    where: str
    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    note: str
    layout: str
    class_names: tuple[str, ...] | None = None
    position: Position | None = None  # formats an input's index for messages


def _from_npz(path: Path, layout: str, max_gb: float) -> _Parts:
    headers = arrays.npz_headers(path)
    keys = arrays.npz_keys(path, list(headers))
    xs = {k: headers[keys[k]] for k in keys if k.startswith("x")}
    values = sum(math.prod(h.shape) for h in xs.values())
    samples = sum(h.shape[0] if h.shape else 0 for h in xs.values())
    shapes = ", ".join(f"{keys[k]} {h.shape}" for k, h in xs.items())
    _check_size(values, samples, str(path), shapes, max_gb)
    loaded = arrays.load_npz(path, keys)
    X = {"test" if k.endswith("test") else "train": v for k, v in loaded.items() if k[0] == "x"}
    y = {"test" if k.endswith("test") else "train": v for k, v in loaded.items() if k[0] == "y"}
    return _Parts(str(path), X, y, shapes, layout)


def _from_npy(paths: list[Path], layout: str, max_gb: float) -> _Parts:
    header = arrays.npy_header(paths[0])
    arrays.npy_header(paths[1])  # refuse object arrays before reading anything
    samples = header.shape[0] if header.shape else 0
    _check_size(math.prod(header.shape), samples, str(paths[0]), str(header.shape), max_gb)
    X, y = arrays.load_npy(paths[0]), arrays.load_npy(paths[1])
    return _Parts(f"{paths[0]}, {paths[1]}", {"train": X}, {"train": y},
                  f"inputs {X.shape}, labels {y.shape}", layout)


def _from_table(
    path: Path, label_column: str | None, ignore: Sequence[str], layout: str, max_gb: float
) -> _Parts:
    if layout not in ("auto", "tabular", "NL"):
        raise ValueError(f"layout={layout!r} does not apply to a CSV file: use tabular or NL")
    rows, columns = tables.estimate_rows(path)
    _check_size(rows * max(columns - 1, 1), rows, str(path),
                f"~{rows} rows x {columns - 1} columns", max_gb)
    table = tables.read_table(path, label_column, ignore, layout)
    n = len(table.features)
    names = f"{table.features[0]}..{table.features[-1]}" if n > 2 else ", ".join(table.features)
    lines, features = table.line_of_row, table.features

    def position(index: tuple[int, ...]) -> str:
        column = f", column {features[index[1]]!r}" if len(index) > 1 else ""
        return f"line {lines[index[0]]}{column}"

    note = (f"{table.X.shape[0]} rows, label column {table.label_column!r}, {n} numeric "
            f"column(s) {names}")
    return _Parts(str(path), {"train": table.X}, {"train": table.labels}, note, table.layout,
                  position=position)


def _from_images(root: Path, image_size: Any, max_gb: float) -> _Parts:
    size = images.parse_size(image_size)
    found = images.scan(root)
    if size is None:
        if len(found.sizes) > 1:
            (s1, f1), (s2, f2) = list(found.sizes.items())[:2]
            raise ValueError(
                f"images in {root} differ in size ({s1[0]}x{s1[1]} {f1.relative_to(root)}, "
                f"{s2[0]}x{s2[1]} {f2.relative_to(root)}): pass image_size (--image-size HxW or "
                "N) to resize them all"
            )
        size = next(iter(found.sizes))
    n = sum(len(items) for items in found.files.values())
    _check_size(n * found.channels * size[0] * size[1], n, str(root),
                f"{n} images x {found.channels} x {size[0]} x {size[1]}", max_gb)
    X = {part: images.decode(items, found.channels, size) for part, items in found.files.items()}
    y = {part: np.array([c for _, c in items], dtype=np.int64)
         for part, items in found.files.items()}
    colour = "RGB" if found.channels == 3 else "grey"
    resized = "" if len(found.sizes) == 1 and next(iter(found.sizes)) == size else (
        f", resized to {size[0]}x{size[1]}"
    )
    note = f"image folder, {n} {colour} images in {len(found.classes)} class folders{resized}"
    return _Parts(str(root), X, y, note, "NCHW", class_names=found.classes)


def _check_options(kind: str, given: dict[str, Any]) -> None:
    applies = {
        "npz": {"layout"}, "npy": {"layout"}, "table": {"layout", "label_column", "ignore_columns"},
        "images": {"image_size"},
    }[kind]
    what = {"npz": "an .npz file", "npy": "a pair of .npy files", "table": "a CSV file",
            "images": "an image folder"}[kind]
    for name, value in given.items():
        if name not in applies and value not in (None, (), [], "auto"):
            raise ValueError(f"{name}={value!r} does not apply to {what}")


def load_path(
    source: Source,
    *,
    seed: int = 0,
    label_column: str | None = None,
    ignore_columns: Sequence[str] = (),
    layout: str = "auto",
    image_size: int | str | tuple[int, int] | None = None,
    test_size: float = 0.2,
    max_gb: float = MAX_GB,
) -> Dataset:
    """Read a user's data set fully into memory.

    Parameters
    ----------
    source : path-like or pair of path-likes
        An ``.npz`` file (``X``/``y``, or ``x_train``/``y_train``/``x_test``/``y_test``), two
        ``.npy`` files (inputs, labels; also ``"X.npy,y.npy"``), a ``.csv``/``.tsv`` file, or an
        image folder (one sub-folder per class, optionally under ``train/`` and ``test/``).
    seed : int
        Seed of the stratified train/test split (sources without a test part).
    label_column : str, optional
        CSV: the label column (default: the one named label, target, class or y).
    ignore_columns : sequence of str
        CSV: columns to drop (ids, file names...).
    layout : str
        What the input axes mean: one of ``auto, tabular, NL, NCL, NLC, NHW, NCHW, NHWC``
        (:mod:`dnas.data.layout`); arrays and CSV only.
    image_size : int, "HxW" or (H, W), optional
        Image folders: resize every image to this size (needed when sizes differ).
    test_size : float
        Share of each class held out for testing when the source has no test part.
    max_gb : float
        Refuse sources whose float32 tensors would exceed this many GiB (estimated first).

    Returns
    -------
    Dataset
        Float32 inputs ``(N, C, L)`` or ``(N, C, H, W)``, int64 labels; ``name`` is the path as
        given; ``description`` says what was inferred.
    """
    layout = check_layout(layout)
    check_float("max_gb", max_gb, 0, low_open=True)
    if isinstance(ignore_columns, str):
        ignore_columns = [c.strip() for c in ignore_columns.split(",") if c.strip()]
    check_int("seed", seed)
    paths = source_paths(source)
    path = paths[0]
    suffix = path.suffix.lower()
    given = {"layout": layout, "label_column": label_column,
             "ignore_columns": tuple(ignore_columns), "image_size": image_size}
    if len(paths) == 2:
        kind = "npy"
    elif path.is_dir():
        kind = "images"
    elif suffix == ".npz":
        kind = "npz"
    elif suffix in TABLE_SUFFIXES:
        kind = "table"
    elif suffix == ".npy":
        raise ValueError(
            f"{path} is one .npy array: give the inputs and the labels as a pair, "
            f"data='X.npy,y.npy' (--data X.npy,y.npy)"
        )
    else:
        raise ValueError(
            f"cannot read {path}: expected an .npz file, two .npy files, a .csv/.tsv file or an "
            "image folder"
        )
    _check_options(kind, given)
    if kind == "npz":
        parts = _from_npz(path, layout, max_gb)
    elif kind == "npy":
        parts = _from_npy(paths, layout, max_gb)
    elif kind == "table":
        parts = _from_table(path, label_column, tuple(ignore_columns), layout, max_gb)
    else:
        parts = _from_images(path, image_size, max_gb)
    return _finish(parts, source, seed, test_size)


def _name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return ",".join(os.fspath(p) for p in source)


def _finish(parts: _Parts, source: Source, seed: int, test_size: float) -> Dataset:
    where = parts.where
    arranged: dict[str, np.ndarray] = {}
    layout = parts.layout
    for split, X in parts.X.items():
        labels = parts.y[split]
        if X.ndim == 0 or labels.ndim == 0 or X.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{where}: {split} inputs {X.shape} and labels {labels.shape} do not hold one "
                "label per sample"
            )
        if X.shape[0] == 0:
            raise ValueError(f"{where}: the {split} part holds no samples")
        X32 = _float32(X, f"{where}: {split} inputs")
        finite = {"position": parts.position} if parts.position is not None else {}
        check_finite(X32, f"{where}: {split} inputs", **finite)
        arranged[split], layout = arrange(X32, parts.layout, f"{where}: {split} inputs {X.shape}")
    splits = list(parts.X)
    if parts.class_names is not None:
        codes, names, label_note = [parts.y[s] for s in splits], parts.class_names, ""
    else:
        label_at: dict[str, Position] = {}
        if parts.position is not None:
            at = parts.position
            label_at = {"position": lambda i: at((i[0],))}
        codes, names, label_note = encode_labels([parts.y[s] for s in splits],
                                                 f"{where}: labels", **label_at)
    y = dict(zip(splits, codes))
    if "test" in arranged:
        X_train, y_train = arranged["train"], y["train"]
        X_test, y_test = arranged["test"], y["test"]
        split_note = f"train {len(y_train)} / test {len(y_test)} (the source's own split)"
    else:
        train, test = stratified_split(y["train"], test_size, seed)
        if len(test) == 0 or len(train) < 2:
            raise ValueError(
                f"{where}: test_size={test_size} of {len(y['train'])} samples leaves "
                f"{len(train)} for training and {len(test)} for testing; give more samples or "
                "another test_size"
            )
        X_train, y_train = arranged["train"][train], y["train"][train]
        X_test, y_test = arranged["train"][test], y["train"][test]
        split_note = (f"train {len(train)} / test {len(test)} (stratified {test_size:.0%} split, "
                      f"seed {seed})")
    shape = X_train.shape[1:]
    kind = kind_of(layout)
    if kind == "tabular":
        shape_note = f"tabular: {shape[0]} features -> {shape[0]} channels x length 1 (1-D)"
    elif kind == "sequence":
        shape_note = f"1-D sequences: {shape[0]} channel(s) x length {shape[1]} (layout {layout})"
    else:
        shape_note = f"2-D images: {shape[0]} channel(s) x {shape[1]}x{shape[2]} (layout {layout})"
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    class_note = f"{len(names)} classes ({shown})" + (f"; {label_note}" if label_note else "")
    description = "; ".join([f"{where}: {parts.note}", shape_note, class_note, split_note])
    return Dataset(
        X_train=torch.from_numpy(np.ascontiguousarray(X_train)),
        y_train=torch.from_numpy(np.ascontiguousarray(y_train)),
        X_test=torch.from_numpy(np.ascontiguousarray(X_test)),
        y_test=torch.from_numpy(np.ascontiguousarray(y_test)),
        num_classes=len(names),
        in_channels=int(shape[0]),
        dim=len(shape) - 1,
        name=_name(source),
        class_names=tuple(names),
        description=description,
    )


__all__ = ["LAYOUTS", "MAX_GB", "load_path", "source_paths"]
