"""Every relaxation finds the candidate that generated the data (3 seeds, seconds on CPU).

pc-darts mixes a share of the channels of a (batch, channels, ...) input, which this elementwise
task does not have: its own selection test is in ``test_pc_darts.py``."""

import pytest
import torch

import dnas
from tests.helpers import BiasedChoice, teacher_task


@pytest.mark.parametrize("method", [m for m in dnas.methods() if m != "pc-darts"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_selects_the_generating_candidate(method, seed):
    train, valid = teacher_task("sin", seed=seed)
    torch.manual_seed(seed)
    net = BiasedChoice()
    result = dnas.search(
        net, train, valid, method=method, epochs=30, batch_size=64, seed=seed,
        arch_lr=0.3, w_lr=0.05,
    )
    assert result.architecture["act"] == ("sin",)
    probs = result.history[-1]["probabilities"]["act"]
    names = net.choice.names
    assert max(range(len(names)), key=probs.__getitem__) == names.index("sin")


def test_second_order_search_selects_the_generating_candidate():
    train, valid = teacher_task("tanh", seed=0)
    torch.manual_seed(0)
    net = BiasedChoice()
    result = dnas.search(net, train, valid, order=2, epochs=20, batch_size=64, arch_lr=0.3,
                         w_lr=0.05)
    assert result.architecture["act"] == ("tanh",)
