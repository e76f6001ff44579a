"""What one search step sees: a training and a validation batch, on the device, augmented.

Under ``torchrun`` every rank draws the same global batch, augments it with the same generator
state, then keeps its own slice, so that the ranks together see what one process would have seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dnas.runtime.batches import IterableBatches, TensorBatches

Batch = tuple[torch.Tensor, torch.Tensor]


def next_batches(
    train: TensorBatches | IterableBatches,
    valid: TensorBatches | IterableBatches,
    device: torch.device,
    augment: Callable[..., torch.Tensor] | None,
    generator: torch.Generator,
    data_parallel: Any = None,
    dtype: torch.dtype | None = None,
) -> tuple[Batch, Batch]:
    """The next batch of each stream, moved to ``device`` and passed through ``augment``.

    ``dtype``: floating inputs are converted to it (the model's weights' dtype, see
    :func:`dnas.bilevel.first_batch.input_dtype`).

    ``augment(x, generator=generator)`` sees each batch once; ``data_parallel``, when given,
    shards the augmented global batch (:meth:`dnas.bilevel.distributed.DataParallel.shard`).
    """

    def augmented(batch: Batch) -> Batch:
        if augment is None:
            return batch
        x, y = batch
        return augment(x, generator=generator), y

    def to_device(batch: Batch) -> Batch:
        x, y = batch
        if dtype is not None and x.is_floating_point():
            return x.to(device, dtype, non_blocking=True), y.to(device, non_blocking=True)
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    train_batch, valid_batch = train.next(), valid.next()
    if data_parallel is not None:
        return (to_device(data_parallel.shard(augmented(train_batch))),
                to_device(data_parallel.shard(augmented(valid_batch))))
    return augmented(to_device(train_batch)), augmented(to_device(valid_batch))


def epoch_length(train: Any, valid: Any) -> int:
    """Steps in an epoch by default: the shorter of the two streams."""
    try:
        return min(len(train), len(valid))
    except TypeError:
        raise ValueError(
            "train/valid have no length (plain iterables): pass steps_per_epoch"
        ) from None


__all__ = ["epoch_length", "next_batches"]
