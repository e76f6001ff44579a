"""The base relaxation: the weighted sum, the export rule."""

import pytest
import torch

import dnas
from tests.helpers import activations


def test_select_excludes_none_and_takes_top_k():
    choice = dnas.LayerChoice(activations(with_none=True), label="e", n_chosen=2)
    dnas.relax(choice, "darts")
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.tensor([5.0, 0.1, 2.0, 1.0, 0.0]))  # none strongest
    arch = dnas.derive(choice)
    assert arch["e"] == ("square", "tanh")

def test_input_choice_mixes_and_selects_top_k():
    ic = dnas.InputChoice(3, n_chosen=2, label="in")
    dnas.relax(ic, "darts")
    with torch.no_grad():
        ic.arch.alpha.copy_(torch.tensor([1.0, -1.0, 2.0]))
    xs = [torch.full((2,), float(i + 1)) for i in range(3)]
    w = torch.softmax(ic.arch.alpha.detach(), 0)
    torch.testing.assert_close(ic(xs), sum(w[i] * xs[i] for i in range(3)))
    assert dnas.derive(ic)["in"] == ("0", "2")
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        ic(xs[:2])
