"""BatchNorm without a step counter, and the bulk running-statistics update (dnas.ops.norm)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnas.ops.norm import (
    RunningStatsUpdate,
    UncountedBatchNorm1d,
    UncountedBatchNorm2d,
    uncount_batch_norms,
)


@pytest.mark.parametrize("counted,uncounted,shape", [
    (nn.BatchNorm1d, UncountedBatchNorm1d, (6, 3, 5)),
    (nn.BatchNorm2d, UncountedBatchNorm2d, (6, 3, 4, 4)),
])
def test_uncounted_batch_norm_is_batch_norm_without_the_counter(counted, uncounted, shape):
    torch.manual_seed(0)
    a, b = counted(3, momentum=0.3), uncounted(3, momentum=0.3)
    b.load_state_dict(a.state_dict())  # a counting BatchNorm's state dict loads
    for _ in range(3):
        x = torch.randn(*shape)
        torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    torch.testing.assert_close(a.running_mean, b.running_mean, rtol=0, atol=0)
    torch.testing.assert_close(a.running_var, b.running_var, rtol=0, atol=0)
    assert "num_batches_tracked" not in b.state_dict()
    b.reset_running_stats()
    assert b.running_mean.abs().sum() == 0 and (b.running_var == 1).all()
    with pytest.raises(ValueError, match="fixed momentum"):
        uncounted(3, momentum=None)


def test_uncount_batch_norms_keeps_the_tensors_and_skips_cumulative_averages():
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.BatchNorm2d(3, momentum=None),
                        nn.Sequential(nn.BatchNorm1d(3, affine=False)))
    weight, mean = net[1].weight, net[1].running_mean
    assert uncount_batch_norms(net) == 2
    assert type(net[1]) is UncountedBatchNorm2d and type(net[3][0]) is UncountedBatchNorm1d
    assert type(net[2]) is nn.BatchNorm2d  # momentum=None reads the counter
    assert net[1].weight is weight and net[1].running_mean is mean


def test_bulk_update_equals_separate_batch_norms():
    torch.manual_seed(0)
    bns = [nn.BatchNorm2d(2, momentum=m, affine=False) for m in (0.1, 0.1, 0.5)]
    ref = [nn.BatchNorm2d(2, momentum=m, affine=False) for m in (0.1, 0.1, 0.5)]
    x = torch.randn(4, 4, 3, 3)
    y = torch.randn(4, 2, 3, 3)
    # call 0 stacks bns[0] and bns[1] (channels 0-1 and 2-3); call 1 is shared by bns[2]
    stats = RunningStatsUpdate([(4, [(bns[0], 0), (bns[1], 2)]), (2, [(bns[2], 0)])], like=x)
    out0, out1 = stats.batch_norm(x, 0, 1e-5), stats.batch_norm(y, 1, 1e-5)
    stats.apply()
    want0 = torch.cat([ref[0](x[:, :2]), ref[1](x[:, 2:])], 1)
    torch.testing.assert_close(out0, want0)
    torch.testing.assert_close(out1, ref[2](y))
    for a, b in zip(bns, ref):
        torch.testing.assert_close(a.running_mean, b.running_mean)
        torch.testing.assert_close(a.running_var, b.running_var)


def test_bulk_update_refuses_modules_that_do_not_tile_the_call():
    bn = nn.BatchNorm2d(2)
    with pytest.raises(ValueError, match="do not tile a call of 3 channels"):
        RunningStatsUpdate([(3, [(bn, 0)])], like=torch.zeros(1))
