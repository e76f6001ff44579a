"""Architecture: JSON round trip, validation, derivation, fix()."""

import json

import pytest
import torch
from torch import nn

import dnas
from dnas.arch import ChosenInputs, SumOf


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = dnas.LayerChoice(
            {"lin": nn.Linear(3, 3), "id": nn.Identity(), "none": nn.Identity()}, label="op"
        )
        self.seq = nn.Sequential(
            dnas.LayerChoice(
                {"lin": nn.Linear(3, 3), "id": nn.Identity(), "none": nn.Identity()}, label="op"
            )
        )
        self.k2 = dnas.LayerChoice(
            {"p": nn.Linear(3, 3), "q": nn.Linear(3, 3), "r": nn.Identity()},
            label="pair",
            n_chosen=2,
        )
        self.inp = dnas.InputChoice(3, 2, label="in", reduction="mean")

    def forward(self, x):
        h = self.seq(self.a(x))
        return self.inp([h, self.k2(h), x])


def test_json_round_trip(tmp_path):
    arch = dnas.Architecture({"op": "lin", "pair": ["p", "q"], "in": ["0", "2"]}, meta={"m": 1})
    again = dnas.Architecture.from_json(arch.to_json())
    assert again == arch and again.meta == {"m": 1}
    path = arch.save(tmp_path / "sub" / "arch.json")
    assert dnas.Architecture.load(path) == arch
    assert not list((tmp_path / "sub").glob("*.tmp"))
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize(
    "text,match",
    [
        ("{not json", "malformed architecture JSON"),
        ("[1, 2]", "must be an object"),
        ('{"format": "x", "version": 1, "choices": {}}', "not a dnas architecture"),
        ('{"format": "dnas.architecture", "version": 7, "choices": {}}', "schema version 7"),
        ('{"format": "dnas.architecture", "version": 1}', "no 'choices'"),
        ('{"format": "dnas.architecture", "version": 1, "choices": {"a": []}}', "label 'a'"),
        (  # numbers are the values of value choices; booleans and nulls are nothing
            '{"format": "dnas.architecture", "version": 1, "choices": {"a": [true]}}',
            "candidate name True",
        ),
        (
            '{"format": "dnas.architecture", "version": 1, "choices": {"a": [null]}}',
            "candidate name None",
        ),
        ('{"format": "dnas.architecture", "version": 1, "choices": {}, "x": 0}', "unknown keys"),
    ],
)
def test_malformed_json_is_a_value_error(text, match):
    with pytest.raises(ValueError, match=match):
        dnas.Architecture.from_json(text)


def test_load_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        dnas.Architecture.load(tmp_path / "nope.json")


def test_derive_and_fix():
    torch.manual_seed(0)
    net = Net()
    dnas.relax(net, "darts")
    with torch.no_grad():
        net.a.arch.alpha.copy_(torch.tensor([0.0, 1.0, 9.0]))  # none strongest: excluded
        net.k2.arch.alpha.copy_(torch.tensor([1.0, 3.0, 2.0]))
        net.inp.arch.alpha.copy_(torch.tensor([2.0, 0.0, 1.0]))
    arch = dnas.derive(net)
    assert dict(arch) == {"op": ("id",), "pair": ("q", "r"), "in": ("0", "2")}
    assert arch.meta["methods"]["op"] == "darts"
    fixed = dnas.fix(net, arch)
    assert isinstance(fixed.a, nn.Identity) and isinstance(fixed.seq[0], nn.Identity)
    assert isinstance(fixed.k2, SumOf) and list(fixed.k2.ops) == ["q", "r"]
    assert isinstance(fixed.inp, ChosenInputs)
    assert not list(dnas.arch_parameters(fixed))
    x = torch.randn(2, 3)
    torch.testing.assert_close(fixed(x), (x + x) / 2)  # identity ops; inputs 0 and 2 averaged
    assert isinstance(net.a, dnas.LayerChoice)  # the search model is untouched


def test_fix_errors():
    net = Net()
    with pytest.raises(ValueError, match=r"no choice for label\(s\) \['in', 'pair'\]"):
        dnas.fix(net, dnas.Architecture({"op": "id"}))
    with pytest.raises(ValueError, match=r"label\(s\) \['zzz'\]"):
        dnas.fix(net, dnas.Architecture({"op": "id", "pair": ["p", "q"], "in": "0", "zzz": "a"}))
    with pytest.raises(ValueError, match=r"chooses \['conv'\] for label 'op'"):
        dnas.fix(net, dnas.Architecture({"op": "conv", "pair": ["p", "q"], "in": "0"}))
    with pytest.raises(TypeError, match="dnas.Architecture"):
        dnas.fix(net, {"op": "id"})


def test_fix_on_a_bare_choice_returns_the_candidate():
    c = dnas.LayerChoice({"a": nn.ReLU(), "b": nn.Tanh()}, label="e")
    assert isinstance(dnas.fix(c, dnas.Architecture({"e": "b"})), nn.Tanh)


@pytest.mark.parametrize(
    "choices, match",
    [
        ({"op": ["lin", "id"], "pair": ["p", "q"], "in": ["0", "2"]},
         r"chooses 2 candidate\(s\) \['lin', 'id'\] for label 'op', whose LayerChoice keeps "
         r"n_chosen=1"),
        ({"op": "lin", "pair": ["p"], "in": ["0", "2"]},
         r"chooses 1 candidate\(s\) \['p'\] for label 'pair', whose LayerChoice keeps n_chosen=2"),
        ({"op": "lin", "pair": ["p", "q"], "in": ["0", "1", "2"]},
         r"for label 'in', whose InputChoice keeps n_chosen=2"),
    ],
)
def test_fix_keeps_exactly_n_chosen(choices, match):
    with pytest.raises(ValueError, match=match):
        dnas.fix(Net(), dnas.Architecture(choices))


def test_fix_keeps_what_a_relaxation_recorded_it_exported():
    net = Net()
    dnas.relax(net, "binary", num_on=2)
    arch = dnas.derive(net)
    assert len(arch["op"]) == 2 and arch.meta["n_kept"]["op"] == 2
    fixed = dnas.fix(Net(), dnas.Architecture.from_json(arch.to_json()))
    assert isinstance(fixed.a, SumOf)
