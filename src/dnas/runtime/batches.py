"""Persistent batch streams over the two splits of the bilevel search.

The search draws one batch from each split per step from a stream that lives for the whole search
(never a fresh iterator per step, which would restart a DataLoader's workers and reshuffle). A
stream knows its position, so a checkpoint can put it back where it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch


class TensorBatches:
    """Mini-batches of in-memory ``(X, y)`` tensors, reshuffled each pass with a generator.

    A batch of the whole set is the set itself, in its own order: a full-batch loss does not
    depend on the order, so no permutation is drawn or applied.

    Parameters
    ----------
    X, y : torch.Tensor
        Inputs and targets with equal first dimension.
    batch_size : int
        Batch size; the last incomplete batch of a pass is dropped when ``drop_last`` (default),
        which keeps every step's shapes fixed (good for ``torch.compile`` and BatchNorm).
    generator : torch.Generator
        Drives the shuffling; its state is part of :meth:`state_dict`.
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        generator: torch.Generator,
        shuffle: bool = True,
        drop_last: bool = True,
    ) -> None:
        n = X.shape[0]
        self.X, self.y = X, y
        self.batch_size = min(batch_size, n)
        self.generator = generator
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.n_batches = n // self.batch_size if drop_last else -(-n // self.batch_size)
        self.pass_index = 0
        self.position = 0
        self._order: torch.Tensor | None = None
        self._order_state: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.n_batches

    def _new_order(self) -> torch.Tensor:
        self._order_state = self.generator.get_state()
        n = self.X.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        self._order = order.to(self.X.device)
        return self._order

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_size == self.X.shape[0]:  # full batch: every pass is the whole set
            if self.position >= self.n_batches:
                self.pass_index += 1
                self.position = 0
            self.position += 1
            return self.X, self.y
        order = self._order if self._order is not None else self._new_order()
        if self.position >= self.n_batches:
            self.pass_index += 1
            self.position = 0
            order = self._new_order()
        start = self.position * self.batch_size
        idx = order[start : start + self.batch_size]
        self.position += 1
        return self.X[idx], self.y[idx]

    def state_dict(self) -> dict[str, Any]:
        return {
            "pass_index": self.pass_index,
            "position": self.position,
            "order_state": self._order_state,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pass_index = state["pass_index"]
        self.position = state["position"]
        if state["order_state"] is not None:
            self.generator.set_state(state["order_state"])
            self._new_order()
        self.generator.set_state(state["generator"])


class IterableBatches:
    """A persistent cycle over any iterable of ``(x, y)`` batches (e.g. a DataLoader).

    When the iterable is exhausted a new pass starts (``iter(data)`` once per pass). Restoring a
    position replays the pass up to it, which is exact when the iterable's order is a function of
    the global RNG (a DataLoader with ``shuffle=True`` and no explicit generator) or fixed.
    """

    def __init__(self, data: Iterable) -> None:
        self.data = data
        self.pass_index = 0
        self.position = 0
        self._it: Iterator | None = None
        try:
            self.n_batches: int | None = len(data)  # type: ignore[arg-type]
        except TypeError:
            self.n_batches = None

    def __len__(self) -> int:
        if self.n_batches is None:
            raise TypeError("this data has no length; pass steps_per_epoch")
        return self.n_batches

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._it is None:
            self._it = iter(self.data)
        try:
            batch = next(self._it)
        except StopIteration:
            if self.position == 0:
                raise ValueError("the data yields no batches") from None
            self.pass_index += 1
            self.position = 0
            self._it = iter(self.data)
            batch = next(self._it)
        self.position += 1
        return _as_pair(batch)

    def state_dict(self) -> dict[str, Any]:
        return {"pass_index": self.pass_index, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # callers restore the global RNG to the state it had at the start of this pass first
        self.pass_index = state["pass_index"]
        self._it = iter(self.data)
        self.position = 0
        for _ in range(state["position"]):
            next(self._it)
            self.position += 1


def _as_pair(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(batch, dict):
        raise ValueError("batches must be (x, y) pairs, got a dict")
    try:
        x, y = batch
    except (TypeError, ValueError):
        raise ValueError(f"batches must be (x, y) pairs, got {type(batch).__name__}") from None
    return _as_tensor(x, "x"), _as_tensor(y, "y")


def _as_tensor(v: Any, what: str) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v
    if isinstance(v, np.ndarray):
        t = torch.from_numpy(v)
        return t.float() if t.is_floating_point() and what == "x" else t
    raise ValueError(f"{what} must be a torch.Tensor or numpy array, got {type(v).__name__}")


def is_tensor_pair(data: Any) -> bool:
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(v, (torch.Tensor, np.ndarray)) for v in data)
    )


def tensor_pair(data: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` as tensors (NumPy arrays converted), checked: a pair, at least one row each,
    as many rows in ``y`` as in ``X``; ``ValueError`` naming ``name`` otherwise."""
    if not is_tensor_pair(data):
        raise ValueError(
            f"{name} must be an (X, y) pair of tensors or NumPy arrays, got "
            f"{type(data).__name__}" + (f" of {[type(v).__name__ for v in data]}"
                                        if isinstance(data, (tuple, list)) else "")
        )
    X, y = (_as_tensor(v, w) for v, w in zip(data, ("x", "y")))
    if X.dim() == 0 or y.dim() == 0:
        raise ValueError(f"{name}: X and y must have a first (sample) dimension")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: X has 0 rows")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    return X, y


def make_batches(
    data: Any, name: str, batch_size: int, generator: torch.Generator, shuffle: bool = True
) -> TensorBatches | IterableBatches:
    """Wrap ``data`` (``(X, y)`` tensors, a DataLoader or an iterable of batches) as a stream."""
    if is_tensor_pair(data):
        X, y = tensor_pair(data, name)
        return TensorBatches(X, y, batch_size, generator, shuffle=shuffle)
    if (isinstance(data, tuple) and len(data) == 2  # (X, y) as lists, not two batches
            and all(isinstance(v, (list, tuple)) for v in data) and not is_tensor_pair(data[0])):
        raise ValueError(
            f"{name} is a pair of {type(data[0]).__name__}s: pass (X, y) as tensors or NumPy "
            "arrays (torch.as_tensor(X), ...), or a DataLoader"
        )
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise ValueError(
            f"{name} must be a DataLoader, an iterable of (x, y) batches or an (X, y) pair of "
            f"tensors, got {type(data).__name__}"
        )
    stream = IterableBatches(data)
    if stream.n_batches == 0:
        raise ValueError(f"{name} is empty: it yields no batches")
    return stream
