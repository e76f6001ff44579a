"""search_split: the DARTS w/α halves are disjoint, complete, paired and seeded."""

from __future__ import annotations

import pytest
import torch

from dnas.data import search_split


@pytest.mark.parametrize(("n", "fraction"), [(100, 0.5), (101, 0.5), (50, 0.3), (7, 0.9)])
def test_disjoint_complete_and_paired(n, fraction):
    X = torch.arange(n, dtype=torch.float32).view(n, 1).expand(n, 3).contiguous()
    y = torch.arange(n) * 10
    (Xa, ya), (Xb, yb) = search_split(X, y, fraction=fraction, seed=3)
    assert len(Xa) == int(fraction * n) and len(Xa) + len(Xb) == n
    ids = torch.cat([Xa[:, 0], Xb[:, 0]]).long()
    assert torch.equal(ids.sort().values, torch.arange(n))  # every sample exactly once
    assert torch.equal(ya, Xa[:, 0].long() * 10) and torch.equal(yb, Xb[:, 0].long() * 10)


def test_seeded():
    X, y = torch.randn(64, 2), torch.arange(64)
    a = search_split(X, y, seed=0)
    b = search_split(X, y, seed=0)
    c = search_split(X, y, seed=1)
    assert torch.equal(a[0][1], b[0][1]) and torch.equal(a[1][1], b[1][1])
    assert not torch.equal(a[0][1], c[0][1])
    assert not torch.equal(a[0][1], torch.arange(32))  # a random cut, not the first half


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 0.01])
def test_empty_part_is_refused(fraction):
    with pytest.raises(ValueError, match=f"fraction={fraction!r} of 10 samples leaves an empty"):
        search_split(torch.zeros(10, 2), torch.zeros(10), fraction=fraction)


def test_bad_inputs():
    with pytest.raises(ValueError, match="same first dimension"):
        search_split(torch.zeros(10, 2), torch.zeros(9))
    with pytest.raises(TypeError, match="must be tensors"):
        search_split([1, 2], torch.zeros(2))
    with pytest.raises(TypeError, match="fraction='half' must be a finite number"):
        search_split(torch.zeros(4), torch.zeros(4), fraction="half")
