"""CIFAR-10 (Krizhevsky, 2009) from a local ``cifar-10-batches-py`` folder, without running code.

The "python version" of CIFAR-10 is six pickles (``data_batch_1`` .. ``data_batch_5``,
``test_batch``) plus ``batches.meta``, written by Python 2 (pickle protocol 2). A batch is a dict
``{b"data": uint8 array (N, 3072), b"labels": list of N ints, ...}``; each row holds the red, green
then blue 32x32 planes. ``pickle.load`` on a file from the internet can run any code, so we read it
with an unpickler whose ``find_class`` allows exactly the three numpy globals an array needs
(``_reconstruct``, ``ndarray``, ``dtype``) and refuses every other global; object arrays are refused
too. The default normalisation uses the per-channel training-set statistics quoted by DARTS
(``utils._data_transforms_cifar10``).
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnas.data.dataset import Dataset

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
#: Per-channel mean and standard deviation of the CIFAR-10 training images (scaled to [0, 1]).
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)
_ROW = 3 * 32 * 32


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global that a CIFAR-10 batch never needs."""


def _safe_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:  # an object array would hand pickled objects to numpy's setstate
        raise RefusedGlobal(f"object dtype {dtype}")
    return dtype


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Builds plain containers, numbers, strings and numeric numpy arrays; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        # _reconstruct's home moved from numpy.core to numpy._core in numpy 2; take it from
        # ndarray.__reduce__ so neither deprecated module has to be imported
        if (module, name) in {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }:
            return np.empty(0).__reduce__()[0]
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return _safe_dtype
        raise RefusedGlobal(f"{module}.{name}")


def read_pickle(path: Path) -> Any:
    """Unpickle ``path`` allowing only numpy arrays; ``ValueError`` (one line) on any problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cifar10: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except RefusedGlobal as exc:
        raise ValueError(
            f"cifar10: refusing to load {path}: it asks for {exc}, which a CIFAR-10 batch never "
            "needs (only numpy arrays are allowed)"
        ) from None
    except Exception as exc:  # any failure inside pickle/numpy means a damaged file
        raise ValueError(
            f"cifar10: {path} is corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from None


def _field(batch: dict[Any, Any], key: str) -> Any:
    # Python 2 str keys come back as bytes under encoding="bytes"; a Python 3 re-pickle has str
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise KeyError(key)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file as ``(data uint8 (N, 3072), labels int64 (N,))``, validated."""
    batch = read_pickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"cifar10: {path} holds a {type(batch).__name__}, expected a batch dict")
    try:
        data, labels = _field(batch, "data"), _field(batch, "labels")
    except KeyError as exc:
        raise ValueError(f"cifar10: {path} has no {exc.args[0]!r} entry") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        kind = f"{data.dtype} array {data.shape}" if isinstance(data, np.ndarray) else type(data)
        raise ValueError(f"cifar10: {path} data is {kind}, expected uint8 (N, {_ROW})")
    if data.shape[1] != _ROW or data.shape[0] == 0:
        raise ValueError(f"cifar10: {path} data has shape {data.shape}, expected (N, {_ROW})")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"cifar10: {path} labels are not a list of integers") from None
    if labels.shape != (data.shape[0],):
        raise ValueError(f"cifar10: {path} has {labels.size} labels for {data.shape[0]} images")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"cifar10: {path} has labels outside 0..9")
    return data, labels


def _folder(root: str | os.PathLike[str] | None) -> Path:
    if root is None:
        raise ValueError(
            f"cifar10 needs root=: the folder holding {FOLDER!r} (or that folder itself)"
        )
    root = Path(root).expanduser()
    for candidate in (root, root / FOLDER):
        if (candidate / TEST_FILE).exists() or (candidate / "data_batch_1").exists():
            return candidate
    if not root.is_dir():
        raise ValueError(f"cifar10: root {str(root)!r} is not a folder")
    if (root / FOLDER).is_dir():
        return root / FOLDER
    raise ValueError(
        f"cifar10: no CIFAR-10 batches in {str(root)!r} (expected {FOLDER}/data_batch_1 ... "
        "test_batch, the python version from https://www.cs.toronto.edu/~kriz/cifar.html)"
    )


def _to_images(data: np.ndarray, normalize: bool) -> torch.Tensor:
    x = torch.from_numpy(data).view(-1, 3, 32, 32).to(torch.float32).div_(255.0)
    if normalize:
        mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
        x.sub_(mean).div_(std)
    return x


def load_cifar10(root: str | os.PathLike[str] | None, *, normalize: bool = True) -> Dataset:
    """CIFAR-10 from local files as ``(N, 3, 32, 32)`` float32 images.

    Parameters
    ----------
    root : path-like
        The ``cifar-10-batches-py`` folder or the folder holding it.
    normalize : bool
        Subtract the CIFAR-10 channel means and divide by the standard deviations
        (:data:`CIFAR10_MEAN`, :data:`CIFAR10_STD`); when False the images are in [0, 1].

    Returns
    -------
    Dataset
        50000 training and 10000 test images (for the official files), ``num_classes=10``.

    Raises
    ------
    ValueError
        One line naming the file and the problem: missing folder or batch, corrupt or truncated
        file, a pickle asking for any global besides numpy's array builders, wrong shapes.
    """
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a bool, got {normalize!r}")
    folder = _folder(root)
    missing = [f for f in (*TRAIN_FILES, TEST_FILE) if not (folder / f).is_file()]
    if missing:
        raise ValueError(f"cifar10: {folder} lacks batch file(s) {', '.join(missing)}")
    train = [read_batch(folder / f) for f in TRAIN_FILES]
    test_data, test_labels = read_batch(folder / TEST_FILE)
    names: tuple[str, ...] = ()
    if (folder / META_FILE).is_file():
        meta = read_pickle(folder / META_FILE)
        try:
            raw = _field(meta, "label_names") if isinstance(meta, dict) else None
            names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in raw or ())
        except (KeyError, TypeError, UnicodeDecodeError):
            names = ()
        if len(names) != 10:
            raise ValueError(f"cifar10: {folder / META_FILE} does not list 10 label names")
    return Dataset(
        X_train=_to_images(np.concatenate([d for d, _ in train]), normalize),
        y_train=torch.from_numpy(np.concatenate([lab for _, lab in train])),
        X_test=_to_images(test_data, normalize),
        y_test=torch.from_numpy(test_labels),
        num_classes=10,
        in_channels=3,
        dim=2,
        name="cifar10",
        class_names=names,
    )
