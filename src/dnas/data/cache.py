"""Where generated datasets are cached, and how a cache file is written without ever leaving half.

The cache folder is the ``cache_dir`` argument, else the ``DNAS_DATA_DIR`` environment variable,
else ``~/.cache/dnas``. Files are written with :func:`dnas.runtime.atomic.atomic_writer`, so a
crash or a concurrent reader never sees a partial file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from dnas.runtime.atomic import atomic_writer

ENV_VAR = "DNAS_DATA_DIR"


def cache_directory(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the cache folder: argument, else ``$DNAS_DATA_DIR``, else ``~/.cache/dnas``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "dnas"


def save_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as ``.npz``: to a temporary file first, then rename.

    Raises
    ------
    ValueError
        When the folder cannot be created or written (one line naming it).
    """
    try:
        with atomic_writer(path, "wb") as handle:
            # a file object (not a name) keeps numpy from appending its own ".npz"
            savez: Callable[..., None] = np.savez  # its stub reads **arrays as allow_pickle
            savez(handle, **arrays)
    except OSError as exc:
        raise ValueError(f"cannot write the data cache in {path.parent}: {exc}") from None
