"""The front door: ``load(name, ...)`` maps a dataset name or a user's path to its loader and checks
the options."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

from dnas.data.dataset import Dataset
from dnas.runtime.checks import check_int


def _mnist1d(*, root: Any, cache_dir: Any, seed: int, **kw: Any) -> Dataset:
    from dnas.data.mnist1d import load_mnist1d

    # the standard dataset is fixed by the generator's own seed (42): ``seed`` does not apply
    return load_mnist1d(cache_dir=cache_dir, **kw)


def _digits(*, root: Any, cache_dir: Any, seed: int, **kw: Any) -> Dataset:
    from dnas.data.digits import load_digits

    return load_digits(seed=seed, **kw)


def _cifar10(*, root: Any, cache_dir: Any, seed: int, **kw: Any) -> Dataset:
    from dnas.data.cifar10 import load_cifar10

    return load_cifar10(root, **kw)


def _synthetic(*, root: Any, cache_dir: Any, seed: int, **kw: Any) -> Dataset:
    from dnas.data.synthetic import load_synthetic

    return load_synthetic(seed=seed, **kw)


def _options(name: str) -> tuple[str, ...]:
    """The extra keyword options each dataset accepts (read off its loader's signature)."""
    from dnas.data import cifar10, digits, mnist1d, synthetic

    loaders: dict[str, Callable[..., Dataset]] = {
        "mnist1d": mnist1d.load_mnist1d,
        "digits": digits.load_digits,
        "cifar10": cifar10.load_cifar10,
        "synthetic": synthetic.load_synthetic,
    }
    target = loaders[name]
    skip = {"root", "cache_dir", "seed"}
    return tuple(p for p in inspect.signature(target).parameters if p not in skip)


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "mnist1d": _mnist1d,
    "digits": _digits,
    "cifar10": _cifar10,
    "synthetic": _synthetic,
}
#: Names :func:`load` accepts.
DATASETS: tuple[str, ...] = tuple(_LOADERS)


#: Options :func:`load` accepts for a user's file or folder (see :func:`dnas.data.files.load_path`).
FILE_OPTIONS = ("label_column", "ignore_columns", "layout", "image_size", "test_size", "max_gb")


def is_path(name: object) -> bool:
    """Whether ``load(name)`` reads a user's file or folder: a path object, a pair of paths, or a
    string that is not a built-in dataset name (built-in names win: write ``./digits`` for a
    folder called ``digits``)."""
    if isinstance(name, str):
        return name.lower() not in _LOADERS
    if isinstance(name, os.PathLike):
        return True
    return isinstance(name, (tuple, list)) and all(
        isinstance(p, (str, os.PathLike)) for p in name
    )


def load(
    name: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    **kw: Any,
) -> Dataset:
    """Load a dataset by name, fully in memory.

    Parameters
    ----------
    name : {"mnist1d", "digits", "cifar10", "synthetic"} or a path
        A user's data: an ``.npz`` file, two ``.npy`` files (``"X.npy,y.npy"`` or a pair), a
        ``.csv``/``.tsv`` file or an image folder, read by :func:`dnas.data.files.load_path`
        (options ``label_column``, ``ignore_columns``, ``layout``, ``image_size``,
        ``test_size``, ``max_gb``; ``seed`` seeds its train/test split). Built-in names:
        ``"mnist1d"``: MNIST-1D generated offline with the ``mnist1d`` package (4000/1000,
        ``(N, 1, 40)``), cached in ``cache_dir``; option ``num_samples``.
        ``"digits"``: scikit-learn's 8x8 digits, ``(N, 1, 8, 8)`` in [0, 1], stratified split
        by ``seed``; option ``test_size`` (0.2).
        ``"cifar10"``: from local files under ``root``, ``(N, 3, 32, 32)``; option ``normalize``
        (True: CIFAR-10 mean/std).
        ``"synthetic"``: CIFAR-shaped random data from ``seed``; options ``n``, ``n_test``,
        ``shape``, ``classes``.
    root : path-like, optional
        For ``"cifar10"``: the ``cifar-10-batches-py`` folder or the folder holding it.
    cache_dir : path-like, optional
        Where generated data are cached (default ``$DNAS_DATA_DIR``, else ``~/.cache/dnas``).
    seed : int
        Seed of the random split (``"digits"``) or of the generated data (``"synthetic"``);
        the MNIST-1D and CIFAR-10 splits are the standard fixed ones.
    **kw
        Dataset options listed above.

    Returns
    -------
    Dataset
        Float32 inputs, int64 labels, ``num_classes``, ``in_channels``, ``dim``, ``name``.
    """
    if is_path(name):
        from dnas.data.files import load_path, source_paths

        try:
            source_paths(name)
        except ValueError as err:
            looks_like_path = any(c in str(name) for c in "/\\.,")
            if isinstance(name, str) and not looks_like_path and "does not exist" in str(err):
                raise ValueError(
                    f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}, or the path "
                    "of an .npz, .npy pair, .csv file or image folder (no such file or folder)"
                ) from None
            raise
        unknown = sorted(set(kw) - set(FILE_OPTIONS))
        if unknown:
            raise TypeError(
                f"a data file has no option(s) {', '.join(unknown)}; its options: "
                f"{', '.join(FILE_OPTIONS)}"
            )
        check_int("seed", seed)
        return load_path(name, seed=seed, **kw)
    if not isinstance(name, str):
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    name = name.lower()
    allowed = _options(name)
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise TypeError(
            f"dataset {name!r} has no option(s) {', '.join(unknown)}; "
            f"its options: {', '.join(allowed) or 'none'}"
        )
    check_int("seed", seed)
    return _LOADERS[name](root=root, cache_dir=cache_dir, seed=seed, **kw)
