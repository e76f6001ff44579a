"""Each robust method's change against a hand-computed value on a tiny case, composition with the
relaxations and both orders, and exact resume of a robust search."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import dnas
from dnas.bilevel import SearchConfig, Searcher
from dnas.ops import Zero
from dnas.robust import (
    AdversarialSmoothing,
    AuxiliarySkip,
    BetaDecay,
    RandomSmoothing,
    Robustified,
    create,
    project_simplex_box,
    robust_methods,
)
from dnas.runtime.checkpoint import load_checkpoint, save_checkpoint
from tests.helpers import StopAt, ToyClassifier, toy_classification


class Double(nn.Module):
    def forward(self, x):
        return 2 * x


def _two_labels():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = dnas.LayerChoice({"zero": Zero(), "twice": Double(),
                                       "id": nn.Identity()}, label="a")
            self.b = dnas.LayerChoice({"zero": Zero(), "twice": Double(),
                                       "id": nn.Identity()}, label="b")

        def forward(self, x):
            return self.b(self.a(x))

    net = Net()
    dnas.relax(net, "darts")
    return net


def test_beta_decay_regulariser_by_hand():
    net = _two_labels()
    method = BetaDecay(weight_start=0.0, weight_end=50.0)
    method.install(net)
    groups = dnas.space.bind(net)
    alpha = torch.tensor([0.0, math.log(2.0), math.log(3.0)], requires_grad=True)
    g = groups["a"]
    assert g.relaxation.regularizer(alpha, g) is None or float(
        g.relaxation.regularizer(alpha, g)
    ) == 0.0  # λ(0) = 0
    method.set_progress(0.5)  # λ = 25, mean over the 2 labels
    r = g.relaxation.regularizer(alpha, g)
    assert float(r.detach()) == pytest.approx(25.0 / 2 * math.log(6.0))
    (grad,) = torch.autograd.grad(r, alpha)  # eq. 10: the gradient is λ/|E| · softmax(α)
    torch.testing.assert_close(grad, 12.5 * torch.tensor([1.0, 2.0, 3.0]) / 6.0)


def test_auxiliary_skip_adds_a_decaying_identity():
    net = _two_labels()
    method = AuxiliarySkip()
    method.install(net)
    x = torch.tensor([[1.0, -2.0]])
    # α = 0: softmax weights 1/3 each; mix(x) = (0 + 2x + x)/3 = x; plus β x
    with torch.no_grad():
        for g in dnas.space.bind(net).values():
            g.alpha.zero_()
    torch.testing.assert_close(net.a(x), 2.0 * x)  # β(0) = 1
    method.set_progress(0.25)
    torch.testing.assert_close(net.a(x), 1.75 * x)
    method.set_progress(1.0)
    torch.testing.assert_close(net.a(x), x)


def test_auxiliary_skip_needs_a_shape_keeping_edge():
    choice = dnas.LayerChoice({"down": nn.Linear(4, 2), "cut": nn.Linear(4, 2)}, label="c")
    dnas.relax(choice, "darts")
    AuxiliarySkip().install(choice)
    with pytest.raises(ValueError, match="auxiliary skip"):
        choice(torch.randn(3, 4))


def test_projection_of_perturbed_weights_by_hand():
    w = torch.tensor([[0.5, 0.5], [0.2, 0.8], [-0.1, -0.2]])
    out = project_simplex_box(w + torch.tensor([[0.3, -0.6], [0.1, 0.1], [0.0, 0.0]]))
    torch.testing.assert_close(out, torch.tensor([[1.0, 0.0], [0.3 / 1.2, 0.9 / 1.2], [1.0, 0.0]]))


def test_random_smoothing_weights_and_schedule():
    torch.manual_seed(0)
    train, valid = toy_classification()
    s = Searcher(ToyClassifier(), train, valid, SearchConfig(robust="sdarts-rs", epochs=1,
                                                             device="cpu"))
    method = s.robust
    assert isinstance(method, RandomSmoothing) and method.epsilon == pytest.approx(0.03)
    method.set_progress(0.5)
    assert method.epsilon == pytest.approx(0.165)
    deltas = method.perturbation(s, None)
    assert set(deltas) == {"act", "mix"}
    assert all(float(d.abs().max()) <= 0.165 for d in deltas.values())
    g = s.groups["mix"]
    wrapper = g.relaxation
    assert isinstance(wrapper, Robustified)
    with torch.no_grad():
        g.alpha.zero_()
    wrapper.deltas = {"mix": torch.tensor([0.3, -0.6])}
    torch.testing.assert_close(g.weights(), torch.tensor([1.0, 0.0]))  # [0.8, -0.1] -> [1, 0]
    wrapper.deltas = {}
    torch.testing.assert_close(g.weights(), torch.tensor([0.5, 0.5]))
    # only the weight step sees δ: afterwards the weights are the relaxation's again
    s.weight_step(next(iter([(train[0][:16], train[1][:16])])))
    assert wrapper.deltas == {}


def test_adversarial_smoothing_raises_the_loss_within_the_ball():
    torch.manual_seed(0)
    train, valid = toy_classification()
    s = Searcher(ToyClassifier(), train, valid,
                 SearchConfig(robust="sdarts-adv", robust_options={"epsilon_start": 0.3},
                              epochs=1, device="cpu"))
    batch = (train[0][:32], train[1][:32])
    for a in s.alphas:
        a.requires_grad_(False)
    deltas = s.robust.perturbation(s, batch)
    assert deltas, "the attack found no δ that raises the loss"
    assert all(float(d.abs().max()) <= 0.3 + 1e-6 for d in deltas.values())
    s.model.eval()
    with torch.no_grad():
        clean = s.robust._loss(s, batch, {})
        attacked = s.robust._loss(s, batch, deltas)
    assert float(attacked) > float(clean)


@pytest.mark.parametrize("robust", robust_methods())
@pytest.mark.parametrize("method,order", [("darts", 1), ("darts", 2), ("drnas", 1),
                                          ("fair-darts", 1)])
def test_every_robust_method_composes(robust, method, order):
    torch.manual_seed(0)
    train, valid = toy_classification()
    result = dnas.search(ToyClassifier(), train, valid, method=method, order=order, epochs=2,
                         batch_size=16, robust=robust, device="cpu")
    assert set(result.architecture) == {"act", "mix"}
    assert all(math.isfinite(r["valid_loss"]) for r in result.history)


def test_robust_search_resumes_bitwise(tmp_path):
    config = SearchConfig.for_method("darts", robust="sdarts-rs", epochs=3, batch_size=16,
                                     device="cpu")

    def searcher(callbacks=(), seed=0):
        torch.manual_seed(seed)
        train, valid = toy_classification()
        return Searcher(ToyClassifier(), train, valid, config, callbacks=callbacks)

    full = searcher()
    full.run()
    first = searcher([StopAt(1, 2)])
    first.run()
    save_checkpoint(first.state_dict(), tmp_path / "last.pt")
    resumed = searcher(seed=5)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    resumed.run()
    for (n, a), b in zip(full.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(a, b), n


def test_bad_robust_options_are_named():
    with pytest.raises(ValueError, match="robust"):
        SearchConfig(robust="beta")
    with pytest.raises(ValueError, match="weight_end"):
        create("beta-darts", weight_end=-1.0)
    with pytest.raises(ValueError, match="bad options"):
        create("darts-minus", gamma=2)
    with pytest.raises(ValueError, match="select"):
        SearchConfig(select="magnitude")
    with pytest.raises(ValueError, match="steps"):
        AdversarialSmoothing(steps=0)
