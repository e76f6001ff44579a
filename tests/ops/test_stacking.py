"""torch.cat with a one-split backward (dnas.ops.stacking): same values, first and second
derivatives."""

from __future__ import annotations

import pytest
import torch

from dnas.ops import stacking


def test_cat_is_torch_cat_with_its_derivatives():
    g = torch.Generator().manual_seed(0)
    parts = [torch.randn(2, n, 3, generator=g, dtype=torch.float64, requires_grad=True)
             for n in (1, 3, 2)]
    torch.testing.assert_close(stacking.cat(parts, 1), torch.cat(parts, 1), rtol=0, atol=0)
    torch.testing.assert_close(stacking.cat(parts, -2), torch.cat(parts, 1), rtol=0, atol=0)

    def f(*ts):
        return stacking.cat(list(ts), 1).sin()

    assert torch.autograd.gradcheck(f, parts)
    assert torch.autograd.gradgradcheck(f, parts)


def test_cat_edge_cases():
    x = torch.randn(2, 2)
    assert stacking.cat([x]) is x
    frozen = stacking.cat([x, x], 0)
    assert not frozen.requires_grad and frozen.shape == (4, 2)
    mixed = [torch.randn(1, 2, requires_grad=True), torch.randn(2, 2)]
    stacking.cat(mixed, 0).sum().backward()
    assert torch.equal(mixed[0].grad, torch.ones(1, 2))
    with pytest.raises(ValueError, match="at least one tensor"):
        stacking.cat([])
