"""Batch streams: persistent, seeded, and a full batch is the set itself."""

from __future__ import annotations

import torch


def test_full_batch_stream_is_the_set_itself():
    from dnas.runtime.batches import TensorBatches

    X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    stream = TensorBatches(X, y, batch_size=64, generator=g)
    for _ in range(3):
        xb, yb = stream.next()
        assert xb is X and yb is y
    assert stream.pass_index == 2 and torch.equal(g.get_state(), state)  # nothing drawn
    small = TensorBatches(X, y, batch_size=2, generator=torch.Generator().manual_seed(0))
    seen = torch.cat([small.next()[1], small.next()[1]])
    assert len(set(seen.tolist())) == 4  # mini-batches are still shuffled without repeats
