"""Where generated datasets are cached, and how a cache file is written without ever leaving half.

The cache folder is the ``cache_dir`` argument, else the ``DNAS_DATA_DIR`` environment variable,
else ``~/.cache/dnas``. Files are written to a temporary name in the same folder and renamed into
place (``os.replace`` is atomic on one file system), so a crash or a concurrent reader never sees a
partial file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np

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
        path.parent.mkdir(parents=True, exist_ok=True)
        # a unique hidden name beside the target; 0o666 lets the umask decide the permissions
        # (tempfile.mkstemp would force 0o600 on a file meant to be shared)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise ValueError(f"cannot write the data cache in {path.parent}: {exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            # a file object (not a name) keeps numpy from appending its own ".npz"
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
