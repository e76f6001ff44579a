"""JSON in and out of dnas: strict, bounded, and written atomically.

Strict: Python's :mod:`json` writes ``NaN`` and ``Infinity`` by default, which are not JSON (other
parsers reject the file). :func:`dumps` refuses them and names where the value sits
(``meta.alpha.edge_0[3]``); :func:`loads` refuses them too. Bounded: :func:`loads` refuses text
larger than ``max_bytes`` and nesting deeper than ``max_depth`` with one clear ``ValueError`` (a
200,000-deep ``[[[...]]]`` is otherwise a ``RecursionError`` from the parser). Every JSON file dnas
writes goes through :func:`write_json`, so through :func:`dnas.runtime.atomic.atomic_write`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dnas.runtime.atomic import atomic_write

#: Default limits of :func:`loads`: far above any file dnas writes, far below what hurts.
MAX_BYTES = 16 * 2**20
MAX_DEPTH = 64


def _where(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))


def _walk(data: Any, path: str = "") -> Iterator[tuple[str, Any, int]]:
    """``(location, value, depth)`` of every value, iteratively (no recursion limit)."""
    stack: list[tuple[str, Any, int]] = [(path, data, 1)]
    while stack:
        where, value, depth = stack.pop()
        yield where, value, depth
        if isinstance(value, Mapping):
            stack.extend((_where(where, k), v, depth + 1) for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)):
            stack.extend((_where(where, i), v, depth + 1)
                         for i, v in reversed(list(enumerate(value))))


def non_finite(data: Any) -> list[tuple[str, float]]:
    """``[(location, value)]`` of every NaN or infinite float in nested dicts/lists/tuples."""
    return [(w, v) for w, v, _ in _walk(data)
            if isinstance(v, float) and not math.isfinite(v)]


def dumps(data: Any, *, indent: int | None = 2, what: str = "JSON") -> str:
    """``json.dumps`` that refuses NaN and ±Infinity (``ValueError`` naming the first one).

    Parameters
    ----------
    data : JSON-serialisable
    indent : int or None
    what : str
        What the text is, for the message (``"architecture JSON"``).
    """
    try:
        return json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:
        bad = non_finite(data)
        if not bad:
            raise
        shown = ", ".join(f"{w or '<top>'}={v}" for w, v in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise ValueError(
            f"refusing to write {what} with non-finite numbers: {shown}{more}; JSON has no "
            "NaN or Infinity"
        ) from None
    except TypeError as err:
        raise ValueError(f"{what} must be JSON-serialisable: {err}") from None
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply to write") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (NaN and Infinity are not numbers in JSON)")


def loads(
    text: str | bytes,
    *,
    what: str = "JSON",
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Parse strict JSON of at most ``max_bytes`` nested at most ``max_depth`` deep.

    Raises
    ------
    ValueError
        ``"malformed <what>: ..."`` for text that is not JSON (``NaN`` and ``Infinity``
        included), or a message naming the limit exceeded.
    """
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        raise ValueError(
            f"{what} is {size:,} bytes; at most {max_bytes:,} are read (this is not a file dnas "
            "wrote)"
        )
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(
            f"{what} is nested too deeply (more than {max_depth} levels are refused)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"malformed {what}: {err}") from None
    except ValueError as err:  # a NaN/Infinity constant
        raise ValueError(f"malformed {what}: {err}") from None
    deepest = max(depth for _, _, depth in _walk(data))
    if deepest > max_depth:
        raise ValueError(
            f"{what} is nested {deepest} levels deep; at most {max_depth} are allowed"
        )
    return data


def write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 2,
               what: str | None = None) -> Path:
    """Write ``data`` as strict JSON (:func:`dumps`) atomically; returns the path."""
    text = dumps(data, indent=indent, what=what or f"{Path(path).name}")
    return atomic_write(path, text + "\n")


def read_bounded(path: str | os.PathLike[str], max_bytes: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, refused beyond ``max_bytes`` (read that far only,
    so ``/dev/zero`` or a growing file cannot exhaust memory); ``what`` names it in messages."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{what} {str(p)!r} does not exist")
    if not p.is_file():
        raise ValueError(f"{what} {str(p)!r} is not a regular file")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as err:
        raise ValueError(f"cannot read {what} {str(p)!r}: {err}") from None
    if len(raw) > max_bytes:
        raise ValueError(
            f"{what} {str(p)!r} is larger than {max_bytes:,} bytes, the most that is read"
        )
    return raw


def read_json(
    path: str | os.PathLike[str],
    *,
    what: str = "JSON file",
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Read a strict JSON file (:func:`read_bounded`, then :func:`loads`)."""
    raw = read_bounded(path, max_bytes, what)
    return loads(raw, what=f"{what} {str(path)!r}", max_bytes=max_bytes, max_depth=max_depth)


__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "dumps",
    "loads",
    "non_finite",
    "read_bounded",
    "read_json",
    "write_json",
]
