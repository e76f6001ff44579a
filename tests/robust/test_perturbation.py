"""DARTS-PT's selection on a toy supernet where α's magnitude and the supernet disagree."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import dnas
from dnas.bilevel import SearchConfig, Searcher
from dnas.robust import project


class Blank(nn.Module):
    """Outputs zeros: useless to the classifier, however large its α."""

    def forward(self, x):
        return torch.zeros_like(x)


class Toy(nn.Module):
    """x -> choice(x) -> fixed head whose logits are (h_0, -h_0): the class is the sign of x_0."""

    def __init__(self):
        super().__init__()
        self.choice = dnas.LayerChoice(
            {"blank": Blank(), "identity": nn.Identity(), "negate": Negate()}, label="op"
        )
        self.head = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))

    def forward(self, x):
        return self.head(self.choice(x))


class Negate(nn.Module):
    def forward(self, x):
        return -0.2 * x


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    y = (X[:, 0] < 0).long()  # class 0 when x_0 > 0: logit 0 is h_0
    return X, y


def test_perturbation_picks_the_operation_the_supernet_needs():
    train, valid = _data(seed=0), _data(seed=1)
    searcher = Searcher(Toy(), train, valid, SearchConfig(epochs=1, device="cpu", w_lr=0.0))
    g = searcher.groups["op"]
    with torch.no_grad():
        g.alpha.copy_(torch.tensor([3.0, 0.5, 0.0]))  # magnitude: blank
    assert dnas.derive(searcher.model)["op"] == ("blank",)
    arch = project(searcher, [valid], tune_steps=0)
    assert arch["op"] == ("identity",)
    acc = arch.meta["removal_accuracy"]["op"]
    # without identity the supernet outputs -0.2·w_neg·x: every sign flips
    assert acc["identity"] == 0.0
    assert acc["blank"] == 1.0 and acc["negate"] == 1.0
    assert arch.meta["selection"] == "perturbation"
    # the decided label is projected: the supernet now runs identity alone
    x = torch.randn(5, 2)
    torch.testing.assert_close(searcher.model.choice(x), x)


def test_search_with_select_perturbation_runs_end_to_end():
    train, valid = _data(seed=0), _data(seed=1)
    result = dnas.search(Toy(), train, valid, epochs=2, batch_size=16, device="cpu",
                         select="perturbation", select_options={"tune_steps": 2})
    assert result.architecture["op"] == ("identity",)
    assert result.architecture.meta["decision_order"] == ["op"]


def test_perturbation_rejects_input_choices():
    class WithInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.pick = dnas.InputChoice(2, 1, label="pick")
            self.head = nn.Linear(2, 2)

        def forward(self, x):
            return self.head(self.pick([x, -x]))

    train = _data()
    s = Searcher(WithInputs(), train, train, SearchConfig(epochs=1, device="cpu"))
    with pytest.raises(ValueError, match="LayerChoice"):
        project(s, [train], tune_steps=0, labels=["pick"])
    with pytest.raises(ValueError, match="tune_steps"):
        project(s, [train], tune_steps=-1)
