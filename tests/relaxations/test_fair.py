"""Fair DARTS: independent sigmoids and the zero-one loss."""

import torch

import dnas
from tests.helpers import activations


def test_fair_darts_weights_and_zero_one_loss():
    choice = dnas.LayerChoice(activations(), label="e")
    r = dnas.relax(choice, "fair-darts", zero_one_weight=10.0)
    alpha = torch.tensor([0.0, 2.0, -2.0, 0.5])
    torch.testing.assert_close(r.weights(alpha, choice.arch), torch.sigmoid(alpha))
    expected = -10.0 * ((torch.sigmoid(alpha) - 0.5) ** 2).mean()
    torch.testing.assert_close(r.regularizer(alpha, choice.arch), expected)
