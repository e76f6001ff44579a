"""Arrays from ``.npz`` files and pairs of ``.npy`` files, read without ever unpickling.

An ``.npz`` file holds ``X`` and ``y`` (one set, split later), or ``x_train``, ``y_train``,
``x_test``, ``y_test`` (names compared without case). A pair of ``.npy`` files holds the inputs,
then the labels. Shapes and dtypes are read from the array headers first, so the memory a file
needs is known before any data is read; arrays of Python objects (which only pickle can load) are
refused.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

ONE_SET = ("x", "y")
TWO_SETS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Header:
    """Shape and dtype of a stored array (read from its header only)."""

    shape: tuple[int, ...]
    dtype: np.dtype


def _read_header(handle: IO[bytes], where: str) -> Header:
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{where} is not a readable .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(
            f"{where} holds Python objects (dtype {dtype}), which only pickle can load and dnas "
            "never unpickles: save numeric or string arrays"
        )
    return Header(tuple(int(s) for s in shape), dtype)


def npz_headers(path: Path) -> dict[str, Header]:
    """``{array name: Header}`` of an ``.npz`` file, read without loading the arrays."""
    try:
        with zipfile.ZipFile(path) as zf:
            headers = {}
            for member in zf.namelist():
                if not member.endswith(".npy"):
                    continue
                with zf.open(member) as handle:
                    headers[member[:-4]] = _read_header(handle, f"{path}: {member[:-4]}")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npz file ({exc})") from None
    if not headers:
        raise ValueError(f"{path} holds no arrays")
    return headers


def npy_header(path: Path) -> Header:
    """The header of one ``.npy`` file."""
    try:
        with open(path, "rb") as handle:
            return _read_header(handle, str(path))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None


def npz_keys(path: Path, names: list[str]) -> dict[str, str]:
    """Map ``x``, ``y`` (or the four split names) onto the file's own array names."""
    lower = {name.lower(): name for name in names}
    has_one = all(k in lower for k in ONE_SET)
    has_two = all(k in lower for k in TWO_SETS)
    if has_one and has_two:
        raise ValueError(
            f"{path} holds both X/y and x_train/y_train/x_test/y_test: keep one of the two sets"
        )
    wanted = ONE_SET if has_one else TWO_SETS if has_two else None
    if wanted is None:
        raise ValueError(
            f"{path} holds arrays {', '.join(sorted(names))}: expected X and y, or x_train, "
            "y_train, x_test and y_test"
        )
    return {k: lower[k] for k in wanted}


def load_npz(path: Path, keys: dict[str, str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` names (``{our name: file's name}``) from an ``.npz`` file."""
    try:
        # our own handle: np.load leaks the file it opened when the zip is damaged
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
            return {ours: np.asarray(npz[theirs]) for ours, theirs in keys.items()}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None


def load_npy(path: Path) -> np.ndarray:
    """One ``.npy`` array (never unpickled)."""
    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
