"""Labels and values of a user's data: class labels to ``0..K-1``, and finite inputs.

Classification labels may be integers (any values: they are mapped in sorted order to
``0..K-1``), whole-number floats (``1.0``), booleans, strings, or one-hot rows; the class names
are the original values as text. Anything else (fractional numbers, NaN, one class only) is one
line naming the file, the offending value and its position. Inputs must be finite once in float32:
the first bad value's position and the count of bad values are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: ``position(flat_index_tuple) -> text`` for error messages ("sample 3, feature 'age'"...).
Position = Callable[[tuple[int, ...]], str]


def sample_position(index: tuple[int, ...]) -> str:
    """``sample i`` plus the position inside the sample, when there is one."""
    rest = f", position {index[1:] if len(index) > 2 else index[1]}" if len(index) > 1 else ""
    return f"sample {index[0]}{rest}"


def check_finite(X: np.ndarray, where: str, position: Position = sample_position) -> None:
    """Raise ``ValueError`` when ``X`` holds NaN or infinite values (count and first position)."""
    bad = ~np.isfinite(X)
    count = int(bad.sum())
    if count:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        value = X[first]
        raise ValueError(
            f"{where} holds {count} NaN or infinite value(s) (in float32); the first is {value} at "
            f"{position(first)}: fill or drop them before searching"
        )


def _is_one_hot(y: np.ndarray) -> bool:
    if y.ndim != 2 or y.shape[1] < 2 or y.dtype.kind not in "biuf":
        return False
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def encode_labels(
    parts: Sequence[np.ndarray], where: str, position: Position = lambda i: f"sample {i[0]}"
) -> tuple[list[np.ndarray], tuple[str, ...], str]:
    """Map the labels of one or more parts (train, test) onto ``0..K-1`` jointly.

    Parameters
    ----------
    parts : sequence of np.ndarray
        Label arrays, each ``(N,)``, ``(N, 1)`` or one-hot ``(N, K)``; integer, boolean,
        whole-number float or string dtype.
    where : str
        Names the labels in messages, as a plural subject (``"data.npz: labels"``).
    position : callable
        Formats the index of a bad label.

    Returns
    -------
    (codes, class_names, how)
        int64 codes per part, the class names in code order, a short note on the mapping.
    """
    flat: list[np.ndarray] = []
    note = ""
    for y in parts:
        if _is_one_hot(y):
            y = y.argmax(axis=1)
            note = "one-hot rows read as class indices"
        elif y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"{where} have shape {y.shape}: expected one label per sample, (N,) or (N, 1), "
                "or one-hot rows (N, K)"
            )
        flat.append(y)
    if not sum(len(y) for y in flat):
        raise ValueError(f"{where}: there are none")
    kinds = {y.dtype.kind for y in flat if len(y)}
    if kinds <= {"U", "S"}:
        values = [y.astype(str) for y in flat]
    elif kinds <= {"b", "i", "u", "f"}:
        values = [_whole_numbers(y, where, position) for y in flat]
    else:
        dtypes = ", ".join(sorted(str(y.dtype) for y in flat))
        raise ValueError(f"{where} have dtype {dtypes}: labels must be integers or strings")
    classes = np.unique(np.concatenate(values))
    if len(classes) < 2:
        raise ValueError(
            f"{where} hold a single class ({classes[0]!s}): classification needs at least 2"
        )
    codes = [np.searchsorted(classes, v).astype(np.int64) for v in values]
    names = tuple(str(c) for c in classes)
    if classes.dtype.kind in "iu" and not np.array_equal(classes, np.arange(len(classes))):
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        note = note or f"labels {{{shown}}} mapped to 0..{len(classes) - 1} in sorted order"
    return codes, names, note


def _whole_numbers(y: np.ndarray, where: str, position: Position) -> np.ndarray:
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind in "iu":
        return y.astype(np.int64)
    finite = np.isfinite(y)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise ValueError(
            f"{where} hold {int((~finite).sum())} NaN or infinite value(s); the first at "
            f"{position((i,))}"
        )
    fractional = y != np.round(y)
    if fractional.any():
        i = int(np.flatnonzero(fractional)[0])
        raise ValueError(
            f"{where} are not integers or strings ({y[i].item()!r} at {position((i,))}); dnas "
            "classifies (for regression, see dnas.DARTSRegressor)"
        )
    return y.astype(np.int64)
