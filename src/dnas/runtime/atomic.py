"""Writing a file so that it is either the old one or the new one, never half of one.

The data go to a fresh temporary file beside the destination, created exclusively (``O_EXCL``:
never an existing file, never through a symbolic link planted under its name), flushed and
``fsync``-ed, then renamed over the destination with :func:`os.replace` (atomic on POSIX and
Windows within one file system; a symbolic link at the destination is replaced, not followed).
On any failure, an interrupt included, the temporary file is removed and the destination is
untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: flags of the temporary file: created here and now, by us alone, and not through a link
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_BINARY", 0
)


def _create_temporary(folder: Path, name: str, permissions: int) -> tuple[int, Path]:
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _FLAGS, permissions), tmp
        except FileExistsError:  # another writer drew the same name: draw again
            continue
    raise FileExistsError(f"could not create a temporary file in {str(folder)!r}")


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    permissions: int = 0o666,
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    Parameters
    ----------
    path : path-like
        Destination; its folder is created.
    mode : {"wb", "w"}
        Binary or text.
    encoding, newline : str, optional
        As for :func:`open` (text mode; ``encoding`` defaults to UTF-8 there).
    permissions : int, default 0o666
        Mode bits of the new file before the process umask (as :func:`open` creates files).

    Yields
    ------
    file object
        Write to it; do not close it.

    Examples
    --------
    >>> with atomic_writer(tmp_path / "table.csv", "w", newline="") as fh:  # doctest: +SKIP
    ...     fh.write("a,b\\n")
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode={mode!r} must be one of 'wb', 'w'")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path.parent, path.name, permissions)
    try:
        if mode == "w":
            fh: IO[Any] = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        else:
            fh = os.fdopen(fd, "wb")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())  # the rename must not overtake the data on a crash
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8"
) -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically; returns the path."""
    if isinstance(data, str):
        data = data.encode(encoding)
    with atomic_writer(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def _sync_folder(folder: Path) -> None:
    # make the rename itself durable; folders cannot be opened on Windows, where this is skipped
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_write", "atomic_writer"]
