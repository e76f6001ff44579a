"""Writing a file so that it is either the old one or the new one, never half of one.

The data go to a fresh temporary file beside the destination, created exclusively (``O_EXCL``:
never an existing file, never through a symbolic link planted under its name), flushed and
``fsync``-ed, then renamed over the destination with :func:`os.replace` (atomic on POSIX and
Windows within one file system; a symbolic link at the destination is replaced, not followed).
On any failure, an interrupt included, the temporary file is removed and the destination is
untouched.

Inside an :func:`output_folder` (a run folder the user named), what dnas writes below it must be a
plain file in plain folders: a symbolic link there, at the destination or at a folder on the way,
is refused with one ``ValueError`` naming it and where it points (the folder itself may be a link:
the user named it). Entering one removes the temporaries of this module's pattern that a killed
writer left (``.<name>.<12 hex digits>.tmp``).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: flags of the temporary file: created here and now, by us alone, and not through a link
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_BINARY", 0
)


#: the name of a temporary file of this module: ``.<destination name>.<12 hex digits>.tmp``
TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")

#: the output folders in force (innermost last), absolute but not resolved
_FOLDERS: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "dnas_output_folders", default=()
)


def remove_stale_temporaries(folder: str | os.PathLike[str], depth: int = 1) -> list[Path]:
    """Remove this module's temporary files (:data:`TEMPORARY`) from ``folder`` and its subfolders
    down to ``depth`` levels (links are removed, never followed); returns what was removed."""
    removed: list[Path] = []
    root = Path(folder)
    if not root.is_dir():
        return removed
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if TEMPORARY.match(entry.name) and not entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        elif depth > 0 and entry.is_dir(follow_symlinks=False):
            removed += remove_stale_temporaries(entry.path, depth - 1)
    return removed


@contextlib.contextmanager
def output_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Within the block, atomic writes below ``folder`` refuse symbolic links (see the module
    docstring); ``folder``'s stale temporaries (and its subfolders') are removed on entry.

    Examples
    --------
    >>> with output_folder("runs/x"):                       # doctest: +SKIP
    ...     atomic_write("runs/x/history.csv", text)        # refused if history.csv is a link
    """
    token = enter_output_folder(folder)
    try:
        yield Path(folder)
    finally:
        _FOLDERS.reset(token)


def enter_output_folder(
    folder: str | os.PathLike[str], *, clean: bool = True
) -> contextvars.Token[tuple[Path, ...]]:
    """:func:`output_folder` without a block: in force for the rest of the current context (the
    command line runs each command in a context of its own); returns the token that ends it.
    ``clean=False`` leaves temporaries alone (a folder that is not a run's own, e.g. the working
    folder)."""
    root = Path(os.path.abspath(folder))
    if clean:
        remove_stale_temporaries(root)
    return _FOLDERS.set((*_FOLDERS.get(), root))


def _refuse_links(path: Path) -> None:
    """A symbolic link between an output folder (exclusive) and ``path`` (inclusive) is refused."""
    absolute = Path(os.path.abspath(path))
    for root in _FOLDERS.get():
        try:
            parts = absolute.relative_to(root).parts
        except ValueError:
            continue
        current = root
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise ValueError(
                    f"refusing to write {str(path)!r}: {str(current)!r} is a symbolic link (to "
                    f"{os.readlink(current)!r}) inside the output folder {str(root)!r}; dnas "
                    "writes plain files there: remove the link, or name its target as the "
                    "output yourself"
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
    _refuse_links(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"cannot write {str(path)!r}: it is a folder "
                                "(give the path of a file)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file where a folder belongs, no permission, ...
        raise type(err)(err.errno, f"cannot create the folder {str(path.parent)!r} to write "
                        f"{str(path)!r}: {err.strerror or err}") from None
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


__all__ = [
    "TEMPORARY",
    "atomic_write",
    "atomic_writer",
    "enter_output_folder",
    "output_folder",
    "remove_stale_temporaries",
]
