"""Registry of relaxations by ``method`` name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_REGISTRY: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a relaxation available as ``method=name``."""

    def deco(cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"relaxation {name!r} is registered twice")
        _REGISTRY[name] = cls
        return cls

    return deco


def methods() -> list[str]:
    """Names accepted by ``method=``."""
    return sorted(_REGISTRY)


def create(method: str, **options: Any):
    """Build the relaxation named ``method`` with ``options``; clear errors for bad input."""
    if not isinstance(method, str) or method not in _REGISTRY:
        raise ValueError(f"unknown method={method!r}; valid methods: {', '.join(methods())}")
    cls = _REGISTRY[method]
    try:
        return cls(**options)
    except TypeError as err:
        raise ValueError(f"bad options for method={method!r}: {err}") from None
