"""The search's optimisers: the per-candidate α decay acts as its formula says."""

from __future__ import annotations

import pytest
import torch

import dnas


def test_size_proportional_arch_weight_decay():
    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c = dnas.LayerChoice(
                {"big": torch.nn.Linear(4, 4, bias=False), "small": torch.nn.Identity()}, label="c"
            )

        def forward(self, x):
            return self.c(x).sum(-1)

    net = Two()
    with torch.no_grad():
        net.c.arch.alpha.fill_(1.0)
    zeros = (torch.zeros(64, 4), torch.zeros(64))
    dnas.search(net, zeros, zeros, epochs=3, batch_size=16, arch_lr=0.1, arch_optimizer="sgd",
                arch_momentum=0.0, arch_weight_decay=0.0, arch_weight_decay_df=0.01,
                arch_weight_decay_base=0.1)
    a = net.c.arch.alpha.detach()
    # zero data: the loss gradient is 0, only the decay acts: α ← α(1 - lr·(base + df·size))
    steps = 3 * 4
    assert a[1].item() == pytest.approx((1 - 0.1 * 0.1) ** steps, rel=1e-6)
    assert a[0].item() == pytest.approx((1 - 0.1 * (0.1 + 0.01 * 16)) ** steps, rel=1e-6)
