"""Where a search loop meets the robust methods: build the configured one, and the context of a
weight step (nothing when no robust method is configured)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dnas.robust.base import RobustMethod


def robust_method(config: Any) -> RobustMethod | None:
    """The robust method a :class:`dnas.SearchConfig` asks for (``config.robust``), or None."""
    name = getattr(config, "robust", None)
    if name is None:
        return None
    from dnas.robust import create

    return create(name, **dict(getattr(config, "robust_options", {}) or {}))


@contextlib.contextmanager
def robust_weight_step(robust: RobustMethod | None, searcher: Any, batch: Any) -> Iterator[None]:
    """``robust.weight_step(searcher, batch)``, or an empty context."""
    if robust is None:
        yield
        return
    with robust.weight_step(searcher, batch):
        yield


def validation_batches(searcher: Any, user: str = "select='perturbation'") -> list[tuple[Any, Any]]:
    """One pass over the search's validation split, as batches (for DARTS-PT's measurements, or
    for what ``user`` names in the error when the split cannot be passed over)."""
    stream = searcher.valid
    X, y = getattr(stream, "X", None), getattr(stream, "y", None)
    if X is not None and y is not None:
        size = max(getattr(stream, "batch_size", 256), 256)
        return [(X[i : i + size], y[i : i + size]) for i in range(0, X.shape[0], size)]
    data = getattr(stream, "data", None)
    if data is None:
        raise ValueError(f"{user} needs a validation split it can pass over")
    return [(b[0], b[1]) for b in data]


__all__ = ["robust_method", "robust_weight_step", "validation_batches"]
