"""pc-darts: partial channels, bypass, pooling at reduction edges, channel shuffle, selection."""

import pytest
import torch
from torch import nn

import dnas
from dnas.relaxations.pc_darts import channel_shuffle


class Act(nn.Module):
    def __init__(self, fn, channels):
        super().__init__()
        self.fn = fn
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        return self.mix(self.fn(x))


FNS = {"sin": torch.sin, "square": torch.square, "tanh": torch.tanh, "relu": torch.relu}


class PCNet(nn.Module):
    """x (B, C, L) -> partial-channel choice -> flatten -> linear."""

    def __init__(self, c=4, k=2, length=6):
        super().__init__()
        self.choice = dnas.LayerChoice({n: Act(f, c // k) for n, f in FNS.items()}, label="op")
        self.head = nn.Linear(c * length, 1)

    def forward(self, x):
        return self.head(self.choice(x).flatten(1)).squeeze(-1)


def test_channel_shuffle_is_the_shufflenet_permutation():
    x = torch.arange(6.0).view(1, 6, 1)
    # groups=2: channels (0 1 2 | 3 4 5) interleave to 0 3 1 4 2 5
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    with pytest.raises(ValueError, match="groups=4"):
        channel_shuffle(x, 4)


def test_only_one_kth_of_the_channels_goes_through_the_mixed_op():
    torch.manual_seed(0)
    net = PCNet(c=4, k=2)
    dnas.relax(net, "pc-darts", partial_channels=2)
    x = torch.randn(3, 4, 6)
    w = torch.softmax(net.choice.arch.alpha, 0)
    mixed = sum(w[j] * op(x[:, :2]) for j, op in enumerate(net.choice.candidates.values()))
    expected = channel_shuffle(torch.cat([mixed, x[:, 2:]], 1), 2)
    torch.testing.assert_close(net.choice(x), expected)


def test_reduction_edges_max_pool_the_bypass():
    ops = {"conv": nn.Conv2d(2, 2, 3, stride=2, padding=1), "pool": nn.AvgPool2d(3, 2, 1)}
    choice = dnas.LayerChoice(ops, label="r")
    dnas.relax(choice, "pc-darts", partial_channels=4)
    x = torch.randn(2, 8, 6, 6)
    out = choice(x)
    assert out.shape == (2, 8, 3, 3)
    w = torch.softmax(choice.arch.alpha, 0)
    mixed = w[0] * ops["conv"](x[:, :2]) + w[1] * ops["pool"](x[:, :2])
    expected = channel_shuffle(torch.cat([mixed, nn.functional.max_pool2d(x[:, 2:], 2)], 1), 4)
    torch.testing.assert_close(out, expected)


def test_indivisible_channels_are_a_clear_error():
    net = PCNet(c=4, k=2)
    dnas.relax(net, "pc-darts", partial_channels=3)
    with pytest.raises(ValueError, match="not divisible by partial_channels=3"):
        net(torch.randn(2, 4, 6))


def test_edge_normalisation_input_choice_is_a_softmax_mixture():
    choice = dnas.InputChoice(3, n_chosen=2, label="beta")
    dnas.relax(choice, "pc-darts")
    xs = [torch.randn(2, 4) for _ in range(3)]
    w = torch.softmax(choice.arch.alpha, 0)
    torch.testing.assert_close(choice(xs), sum(w[j] * xs[j] for j in range(3)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_selects_the_generating_candidate(seed):
    g = torch.Generator().manual_seed(seed)
    teacher = PCNet()
    for p in teacher.parameters():
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g))
    fixed = dnas.fix(teacher, dnas.Architecture({"op": ("sin",)}))
    # the teacher keeps the partial-channel wiring: sin on the first half, bypass, shuffle

    def teach(x):
        a = teacher.choice.candidates["sin"](x[:, :2])
        return fixed.head(channel_shuffle(torch.cat([a, x[:, 2:]], 1), 2).flatten(1)).squeeze(-1)

    X = 2.0 * torch.randn(512, 4, 6, generator=g)
    with torch.no_grad():
        y = teach(X)
    torch.manual_seed(seed)
    net = PCNet()
    result = dnas.search(net, (X[:256], y[:256]), (X[256:], y[256:]), method="pc-darts",
                         method_options={"partial_channels": 2}, epochs=30, batch_size=64,
                         seed=seed, arch_lr=0.3, w_lr=0.05)
    assert result.architecture["op"] == ("sin",)
