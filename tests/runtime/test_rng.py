"""Seeded generators and the global RNG: forked, seeded, set to a saved state, restored."""

from __future__ import annotations

import torch

from dnas.runtime.rng import generator, global_rng, global_rng_state

CPU = torch.device("cpu")


def test_generator_is_seeded_or_fresh():
    a, b = generator(3), generator(3)
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    c, d = generator(None), generator(None)
    assert not torch.equal(torch.rand(4, generator=c), torch.rand(4, generator=d))


def test_seeded_block_is_reproducible_and_restores_the_callers_rng():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    with global_rng(CPU, seed=5):
        first = torch.rand(3)
    assert torch.equal(torch.get_rng_state(), before)
    with global_rng(CPU, seed=5):
        assert torch.equal(torch.rand(3), first)


def test_saved_state_is_applied_after_the_seed():
    with global_rng(CPU, seed=1):
        torch.rand(10)
        saved = global_rng_state(CPU)
        expected = torch.rand(3)
    assert saved["cuda_rng"] is None
    with global_rng(CPU, seed=1, state=saved):
        assert torch.equal(torch.rand(3), expected)


def test_without_a_seed_the_global_rng_is_left_to_the_caller():
    torch.manual_seed(0)
    with global_rng(CPU):
        torch.rand(1)
    after = torch.rand(1)
    torch.manual_seed(0)
    torch.rand(1)
    assert torch.equal(torch.rand(1), after)  # the draw inside counted: no fork
