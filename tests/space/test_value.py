"""ValueChoice: labels, arithmetic, export as plain values, fix to the chosen sizes."""

import pytest
import torch
from torch import nn

import dnas
import dnas.nn as dnn
from dnas.space import value as V


def test_same_label_shares_alpha_and_samples():
    a = dnas.ValueChoice([8, 16], label="w")
    b = dnas.ValueChoice([8, 16], label="w")
    net = nn.Sequential(dnn.Conv1d(1, a, 3), dnn.Conv1d(b, 4, 3))
    dnas.relax(net, "gdas")
    assert len(list(dnas.arch_parameters(net))) == 1
    assert a.arch is b.arch
    dnas.resample(net, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a.weights(), b.weights())


def test_same_label_with_other_values_is_an_error():
    net = nn.Sequential(dnn.Linear(2, dnas.ValueChoice([2, 4], label="w")),
                        dnn.Linear(dnas.ValueChoice([2, 5], label="w"), 1))
    with pytest.raises(ValueError, match="same candidates"):
        dnas.relax(net)


@pytest.mark.parametrize("values,match", [([], "empty"), ([1, 1], "repeat"), ([1, True], "finite"),
                                          ([1.0, float("nan")], "finite"), ("12", "list")])
def test_bad_values(values, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dnas.ValueChoice(values)


def test_arithmetic_enumerates_every_combination():
    w = dnas.ValueChoice([2, 3], label="w")
    e = dnas.ValueChoice([1, 4], label="e")
    size = w * e + 1
    assert V.candidates(size) == [3, 4, 9, 13]
    assert V.max_value(size) == 13
    assert V.resolve(size, {"w": (3,), "e": (4,)}) == 13
    assert [c.label for c in V.leaves(size * w)] == ["w", "e"]
    assert repr(size) == "((w * e) + 1)"
    with pytest.raises(TypeError, match="combine"):
        _ = w * "2"


def test_product_size_mask_is_exact():
    # hidden = w * e: the mask weight of channel c is P(c < w * e) under independent choices
    w = dnas.ValueChoice([2, 3], label="w")
    e = dnas.ValueChoice([1, 2], label="e")
    lin = dnn.Linear(4, w * e)
    dnas.relax(lin)
    with torch.no_grad():
        w.arch.alpha.copy_(torch.tensor([0.0, 1.0]))
        e.arch.alpha.copy_(torch.tensor([0.5, -0.5]))
    pw, pe = torch.softmax(w.arch.alpha, 0), torch.softmax(e.arch.alpha, 0)
    sizes = {(i, j): wv * ev for i, wv in enumerate(w.values) for j, ev in enumerate(e.values)}
    expected = torch.zeros(6)
    for (i, j), s in sizes.items():
        expected[:s] += pw[i] * pe[j]
    torch.testing.assert_close(lin.mix("out", expected), expected.detach())


def test_export_is_plain_values_and_round_trips():
    net = nn.Sequential(dnn.Conv1d(1, dnas.ValueChoice([4, 8], label="w"),
                                   dnas.ValueChoice([3, 5], label="k")))
    dnas.relax(net)
    with torch.no_grad():
        dnas.space.arch_groups(net)["w"].alpha.copy_(torch.tensor([0.0, 2.0]))
    arch = dnas.derive(net)
    assert arch["w"] == (8,) and isinstance(arch["w"][0], int)
    again = dnas.Architecture.from_json(arch.to_json())
    assert again == arch and again["k"][0] in (3, 5)
    fixed = dnas.fix(net, again)
    assert fixed[0].out_channels == 8


def test_fix_checks_values():
    net = nn.Sequential(dnn.Linear(3, dnas.ValueChoice([4, 8], label="w")))
    assert dnas.fix(net, dnas.Architecture({"w": "4"}))[0].out_features == 4  # name accepted
    with pytest.raises(ValueError, match="whose values are"):
        dnas.fix(net, dnas.Architecture({"w": 5}))
    with pytest.raises(ValueError, match="exactly one value"):
        dnas.fix(net, dnas.Architecture({"w": [4, 8]}))
    with pytest.raises(ValueError, match="no choice"):
        dnas.fix(net, dnas.Architecture({}))


def test_fix_has_exactly_the_parameters_of_the_chosen_sizes():
    w1 = dnas.ValueChoice([8, 16, 24], label="w1")
    w2 = dnas.ValueChoice([4, 12], label="w2")
    k = dnas.ValueChoice([3, 5, 7], label="k")
    net = nn.Sequential(dnn.Conv2d(3, w1, k), dnn.BatchNorm2d(w1), nn.ReLU(),
                        dnn.Conv2d(w1, w2, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        dnn.Linear(w2, 10))
    for a, b, ks in [(8, 4, 3), (24, 12, 7), (16, 4, 5)]:
        fixed = dnas.fix(net, dnas.Architecture({"w1": a, "w2": b, "k": ks}))
        expected = (3 * a * ks * ks + a) + 2 * a + a * b + (b * 10 + 10)
        assert sum(p.numel() for p in fixed.parameters()) == expected
        assert not any(isinstance(m, (dnas.space.Searchable, dnas.ValueChoice))
                       for m in fixed.modules())
        assert fixed(torch.randn(2, 3, 6, 6)).shape == (2, 10)


def test_a_choice_held_by_the_model_fixes_to_its_value():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.width = dnas.ValueChoice([2, 4], label="w")
            self.lin = dnn.Linear(3, self.width)

        def forward(self, x):
            return self.lin(x)

    fixed = dnas.fix(Net(), dnas.Architecture({"w": 2}))
    assert fixed.width.value == 2 and not list(fixed.width.parameters())
    assert fixed.lin.out_features == 2
