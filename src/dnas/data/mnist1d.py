"""MNIST-1D (Greydanus, 2020, "Scaling down deep learning"), generated here, never downloaded.

The ``mnist1d`` package turns ten 1-D digit templates into 40-sample signals by random padding,
translation, correlated and i.i.d. noise, shear and resampling. We call its generator
(``mnist1d.data.make_dataset``) with the package's default arguments (5000 samples, seed 42, the
first 80% for training): the standard 4000/1000 split. The result is cached as ``.npz`` so the
few seconds of generation happen once per machine.

The generator seeds NumPy's and Python's *global* random state; we save and restore both around
the call, so loading the data does not change the caller's random streams.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnas.data.cache import cache_directory, save_npz_atomic
from dnas.data.dataset import Dataset
from dnas.runtime.checks import check_float, check_int

_KEYS = ("x", "y", "x_test", "y_test")


#: Generator settings a caller may change (the mnist1d package's names; None keeps its default).
KNOBS = ("iid_noise_scale", "corr_noise_scale", "shear_scale", "scale_coeff", "max_translation")


def _generator_args(num_samples: int, knobs: dict[str, float | None] | None = None) -> Any:
    try:
        from mnist1d.data import get_dataset_args
    except ImportError as exc:  # optional dependency
        raise ImportError(
            "the 'mnist1d' dataset needs the mnist1d package: pip install 'dnas[mnist1d]'"
        ) from exc
    args = get_dataset_args()
    args.num_samples = num_samples
    for name, value in (knobs or {}).items():
        if value is not None:
            setattr(args, name, value)
    return args


def _cache_path(folder: Path, args: Any) -> Path:
    # the generator's arguments (not the download URL) decide the data: key the file on them
    settings = {k: v for k, v in sorted(vars(args).items()) if k != "url"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return folder / f"mnist1d-n{args.num_samples}-seed{args.seed}-{digest}.npz"


def _generate(args: Any) -> dict[str, np.ndarray]:
    from mnist1d.data import make_dataset

    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {
        "x": np.asarray(data["x"], dtype=np.float32),
        "y": np.asarray(data["y"], dtype=np.int64),
        "x_test": np.asarray(data["x_test"], dtype=np.float32),
        "y_test": np.asarray(data["y_test"], dtype=np.int64),
    }


def _expected_shapes(args: Any) -> dict[str, tuple[int, ...]]:
    n = (args.num_samples // 10) * 10  # the generator makes num_samples // 10 per class
    n_train = int(n * args.train_split)
    length = args.final_seq_length
    return {
        "x": (n_train, length),
        "y": (n_train,),
        "x_test": (n - n_train, length),
        "y_test": (n - n_train,),
    }


def _read_cache(path: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None (with a warning) when the file is unreadable or malformed."""
    try:
        # our own handle: np.load leaks the file it opened when the zip is damaged
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in _KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        problem = f"unreadable ({type(exc).__name__}: {exc})"
    else:
        bad = [
            k
            for k in _KEYS
            if arrays[k].shape != shapes[k]
            or arrays[k].dtype != (np.float32 if k.startswith("x") else np.int64)
        ]
        finite = not bad and all(np.isfinite(arrays[k]).all() for k in ("x", "x_test"))
        if finite and all(((arrays[k] >= 0) & (arrays[k] < 10)).all() for k in ("y", "y_test")):
            return arrays
        problem = f"malformed arrays {bad or 'values'}"
    warnings.warn(f"MNIST-1D cache {path} is {problem}; regenerating it", stacklevel=3)
    return None


def load_mnist1d(
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    num_samples: int = 5000,
    iid_noise_scale: float | None = None,
    corr_noise_scale: float | None = None,
    shear_scale: float | None = None,
    scale_coeff: float | None = None,
    max_translation: int | None = None,
) -> Dataset:
    """MNIST-1D as ``(N, 1, 40)`` float32 signals and int64 labels (generated offline, cached).

    Parameters
    ----------
    cache_dir : path-like, optional
        Cache folder (default: ``$DNAS_DATA_DIR``, else ``~/.cache/dnas``).
    num_samples : int
        Total samples before the 80/20 split; the default 5000 is the standard 4000/1000 dataset.
        Smaller values give a quick dataset from the same generator (same seed, fewer samples).
    iid_noise_scale, corr_noise_scale, shear_scale, scale_coeff, max_translation : optional
        The generator's difficulty settings (defaults 0.02, 0.25, 0.75, 0.4, 48); more noise or
        shear makes a harder task. Each setting has its own cache file.

    Returns
    -------
    Dataset
        ``dim=1``, ``in_channels=1``, ``num_classes=10``.
    """
    check_int("num_samples", num_samples, 20)
    knobs = {
        "iid_noise_scale": iid_noise_scale, "corr_noise_scale": corr_noise_scale,
        "shear_scale": shear_scale, "scale_coeff": scale_coeff,
    }
    for name, value in knobs.items():
        if value is not None:
            check_float(name, value, 0)
    if max_translation is not None:
        check_int("max_translation", max_translation, 0)
    knobs["max_translation"] = max_translation
    args = _generator_args(num_samples, knobs)
    path = _cache_path(cache_directory(cache_dir), args)
    shapes = _expected_shapes(args)
    arrays = _read_cache(path, shapes) if path.exists() else None
    if arrays is None:
        arrays = _generate(args)
        save_npz_atomic(path, arrays)
    return Dataset(
        X_train=torch.from_numpy(arrays["x"]).unsqueeze(1),
        y_train=torch.from_numpy(arrays["y"]),
        X_test=torch.from_numpy(arrays["x_test"]).unsqueeze(1),
        y_test=torch.from_numpy(arrays["y_test"]),
        num_classes=10,
        in_channels=1,
        dim=1,
        name="mnist1d",
        class_names=tuple(str(i) for i in range(10)),
    )
