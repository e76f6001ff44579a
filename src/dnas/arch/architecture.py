"""The discrete architecture: label -> chosen candidates, as versioned JSON.

Schema (version 1)::

    {"format": "dnas.architecture", "version": 1,
     "choices": {"<label>": ["<candidate name>", ...], ...},
     "meta": {...}}                      # free-form, JSON-serialisable (method, α, space, ...)

For an InputChoice the chosen "names" are the input indices as strings (``"0"``, ``"2"``); for a
ValueChoice they are the chosen plain value, a JSON number (``{"width": [32]}``).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnas.runtime import jsonio
from dnas.runtime.atomic import atomic_write
from dnas.runtime.checks import plain_number

FORMAT = "dnas.architecture"
VERSION = 1
#: Limits of an architecture file: far above any dnas writes (the DARTS cell space's, α included,
#: is ~10 KB), far below what hurts.
MAX_BYTES = 4 * 2**20
MAX_DEPTH = 32


#: What an architecture chooses per label: candidate names, or the values of value choices.
Chosen = str | int | float


def _valid_item(n: Any) -> bool:
    if isinstance(n, str):
        return bool(n)
    return isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n)


class Architecture(Mapping[str, tuple[Chosen, ...]]):
    """An immutable mapping ``label -> tuple of chosen candidate names (or values)``.

    Parameters
    ----------
    choices : mapping of str to str, number, or sequence of them
        The chosen candidate(s) per label; a single name is accepted for one choice. Value
        choices hold their chosen value (a number).
    meta : dict, optional
        Free-form, JSON-serialisable information (method, final probabilities, ...).
    """

    def __init__(
        self,
        choices: Mapping[str, Chosen | Sequence[Chosen]],
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(choices, Mapping):
            raise ValueError(
                f"choices must be a mapping of label -> names, got {type(choices).__name__}"
            )
        data: dict[str, tuple[Chosen, ...]] = {}
        for label, chosen in choices.items():
            if not isinstance(label, str) or not label:
                raise ValueError(f"architecture label {label!r} must be a non-empty string")
            names = (chosen,) if isinstance(chosen, (str, numbers.Real)) else chosen
            if not isinstance(names, Sequence) or not names:
                raise ValueError(
                    f"label {label!r}: chosen must be a name or a non-empty list of names, "
                    f"got {chosen!r}"
                )
            names = tuple(plain_number(n) for n in names)
            for n in names:
                if not _valid_item(n):
                    raise ValueError(
                        f"label {label!r}: candidate name {n!r} must be a non-empty string "
                        "(or, for a value choice, a finite number)"
                    )
            if len(set(names)) != len(names):
                raise ValueError(f"label {label!r}: chosen names repeat: {list(names)}")
            data[label] = names
        self._choices = data
        self.meta: dict[str, Any] = dict(meta or {})

    # Mapping protocol
    def __getitem__(self, label: str) -> tuple[Chosen, ...]:
        return self._choices[label]

    def __iter__(self):
        return iter(self._choices)

    def __len__(self) -> int:
        return len(self._choices)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Architecture):
            return self._choices == other._choices
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._choices.items())))

    def __repr__(self) -> str:
        body = ", ".join(
            f"{k!r}: {v[0]!r}" if len(v) == 1 else f"{k!r}: {list(v)!r}" for k, v in self.items()
        )
        return f"Architecture({{{body}}})"

    # JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "choices": {k: list(v) for k, v in self._choices.items()},
            "meta": self.meta,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise to strict JSON text (schema version 1): ``ValueError`` naming any NaN or
        infinite number (JSON has none) or a value that is not JSON-serialisable."""
        return jsonio.dumps(self.to_dict(), indent=indent, what="architecture JSON")

    @classmethod
    def from_dict(cls, data: Any) -> Architecture:
        if not isinstance(data, dict):
            raise ValueError(f"architecture JSON must be an object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(
                f"not a dnas architecture: format={data.get('format')!r}, expected {FORMAT!r}"
            )
        version = data.get("version")
        if version != VERSION:
            raise ValueError(
                f"unsupported architecture schema version {version!r}; "
                f"this dnas reads version {VERSION}"
            )
        unknown = set(data) - {"format", "version", "choices", "meta"}
        if unknown:
            raise ValueError(f"architecture JSON has unknown keys {sorted(unknown)}")
        if "choices" not in data:
            raise ValueError("architecture JSON has no 'choices'")
        meta = data.get("meta", {})
        if not isinstance(meta, dict):
            raise ValueError(f"architecture 'meta' must be an object, got {type(meta).__name__}")
        return cls(data["choices"], meta)

    @classmethod
    def from_json(cls, text: str | bytes) -> Architecture:
        """Parse and validate JSON text; ``ValueError`` naming the problem otherwise.

        The text is strict JSON (no NaN/Infinity) of at most :data:`MAX_BYTES` bytes nested at
        most :data:`MAX_DEPTH` levels (``meta`` included).
        """
        data = jsonio.loads(text, what="architecture JSON", max_bytes=MAX_BYTES,
                            max_depth=MAX_DEPTH)
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON atomically (:func:`dnas.runtime.atomic.atomic_write`); returns the path."""
        return atomic_write(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Architecture:
        """Read and validate an architecture file."""
        path = Path(path)
        text = jsonio.read_bounded(path, MAX_BYTES, "architecture file")
        try:
            return cls.from_json(text)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
