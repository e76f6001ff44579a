"""The pre-flight check: what does not fit is one clear error before any α or weight step, and
the check itself leaves no trace (:mod:`dnas.bilevel.first_batch`)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import dnas
from dnas.bilevel.first_batch import preflight
from dnas.runtime.rng import generator
from dnas.space.binding import arch_groups
from tests.helpers import ToyClassifier, toy_classification


def _alphas(net):
    return [a.detach().clone() for a in dnas.arch_parameters(net)]


def _refused(net, match, train=None, valid=None, **options):
    """The search raises ValueError matching ``match`` with α and the weights untouched."""
    t, v = toy_classification()
    alpha = _alphas(net)
    weights = {k: p.detach().clone() for k, p in net.state_dict().items()}
    options = {"epochs": 1, "batch_size": 16, "device": "cpu", **options}
    with pytest.raises(ValueError, match=match):
        dnas.search(net, train or t, valid or v, **options)
    assert all(torch.equal(a, b) for a, b in zip(alpha, dnas.arch_parameters(net)))
    state = net.state_dict()  # (relaxing may add buffers of its own)
    assert all(torch.equal(w, state[k]) for k, w in weights.items())


class Widths(nn.Module):
    """Two candidates whose outputs broadcast silently: (B, 3) + (B, 1)."""

    def __init__(self):
        super().__init__()
        self.c = dnas.LayerChoice({"wide": nn.Linear(6, 3), "narrow": nn.Linear(6, 1)},
                                  label="head")

    def forward(self, x):
        return self.c(x)


@pytest.mark.parametrize("method", dnas.methods())
def test_candidates_of_different_shapes_are_named(method):
    if method == "pc-darts":  # channels are split: inputs (batch, channels, length)
        pytest.skip("PC-DARTS needs channel inputs")
    _refused(Widths(), r"candidates of LayerChoice 'head' \(at c\) give outputs of different "
             r"shapes: 'wide' -> \(16, 3\), 'narrow' -> \(16, 1\)", method=method)


class Inputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 3), nn.Linear(6, 4)
        self.pick = dnas.InputChoice(2, label="skip")

    def forward(self, x):
        return self.pick([self.a(x), self.b(x)])


def test_inputs_of_different_shapes_are_named():
    _refused(Inputs(), r"InputChoice 'skip' \(at pick\) receives inputs of different shapes "
             r"\(input 0: \(16, 3\), input 1: \(16, 4\)\)")


class Unused(ToyClassifier):
    def __init__(self):
        super().__init__()
        self.spare = dnas.LayerChoice({"a": nn.ReLU(), "b": nn.Tanh()}, label="spare")


def test_choices_never_reached_are_named():
    _refused(Unused(), r"the loss does not depend on the α of 1 label\(s\): 'spare' at spare\. "
             r"model\.forward never uses these choices")


@pytest.mark.parametrize(
    "loss_fn, match",
    [
        (lambda o, y: nn.functional.cross_entropy(o, y).item(),
         r"loss_fn must return a scalar tensor, got a float .*a Python number carries no "
         r"gradient"),
        (lambda o, y: nn.functional.cross_entropy(o, y, reduction="none"),
         r"loss_fn must return a scalar floating tensor, got shape \(16,\)"),
        (lambda o, y: (o.argmax(1) == y).sum(),
         r"loss_fn must return a scalar floating tensor, got shape \(\) and dtype torch.int64"),
    ],
)
def test_losses_that_are_not_scalar_tensors(loss_fn, match):
    _refused(ToyClassifier(), match, loss_fn=loss_fn)


def test_integer_inputs_for_a_float_model_get_a_hint():
    (X, y), (Xv, yv) = toy_classification()
    _refused(ToyClassifier(), r"the model cannot take the training inputs \(x: \(16, 6\), "
             r"torch.int64\) \(x is torch.int64 and the weights are torch.float32: convert X",
             train=(X.long(), y), valid=(Xv.long(), yv))


def test_class_targets_outside_the_outputs():
    (X, y), _valid = toy_classification()
    _refused(ToyClassifier(), r"the training targets hold class 3, but the model outputs 3 "
             r"classes \(targets must be 0\.\.2\)", train=(X, y + 1))


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), nn.NLLLoss()])
def test_class_targets_outside_the_outputs_of_torchs_own_losses(loss_fn):
    (X, y), _valid = toy_classification()
    _refused(ToyClassifier(), r"the training targets hold class 7, but the model outputs 3 "
             r"classes \(targets must be 0\.\.2\)", train=(X, torch.where(y == 0, 7, y)),
             loss_fn=loss_fn)


def test_ignored_targets_of_a_loss_are_not_refused():
    (X, y), valid = toy_classification()
    y = y.clone()
    y[::5] = -1  # ignored by the loss, not a class
    dnas.search(ToyClassifier(), (X, y), valid, epochs=1, batch_size=16, device="cpu",
                loss_fn=nn.CrossEntropyLoss(ignore_index=-1))


def test_validation_inputs_that_do_not_fit():
    _train, (Xv, yv) = toy_classification()
    _refused(ToyClassifier(), r"the model cannot take the validation inputs \(x: \(16, 5\)",
             valid=(Xv[:, :5], yv))


def test_float64_inputs_are_converted_with_one_warning():
    (X, y), (Xv, yv) = toy_classification()
    torch.manual_seed(0)
    ref = dnas.search(ToyClassifier(), (X, y), (Xv, yv), epochs=1, batch_size=16, device="cpu")
    torch.manual_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = dnas.search(ToyClassifier(), (X.double(), y), (Xv.double(), yv), epochs=1,
                          batch_size=16, device="cpu")
    messages = [str(w.message) for w in caught]
    assert any("train inputs are torch.float64 but the model's weights are torch.float32: "
               "converting" in m for m in messages), messages
    assert res.history[-1]["train_loss"] == ref.history[-1]["train_loss"]


def test_the_check_leaves_no_trace():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Dropout(0.5),
                        dnas.LayerChoice({"a": nn.ReLU(), "b": nn.Tanh()}, label="act"),
                        nn.Linear(8, 3))
    dnas.relax(net, "gdas")
    groups = arch_groups(net)
    gen = generator(3)
    groups["act"].resample(gen)
    sample, gen_state = groups["act"].sample, gen.get_state()
    buffers = {k: b.clone() for k, b in net.named_buffers()}
    rng = torch.get_rng_state()
    train, valid = toy_classification()
    preflight(net, nn.functional.cross_entropy, (train[0][:16], train[1][:16]),
              (valid[0][:16], valid[1][:16]), groups, gen, torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.equal(gen.get_state(), gen_state) and groups["act"].sample is sample
    assert all(torch.equal(b, buffers[k]) for k, b in net.named_buffers())


def test_a_large_float64_loss_is_finite():
    """A float64 loss beyond float32's range (1e60) is finite: the search starts; only a truly
    non-finite loss is refused."""
    torch.manual_seed(0)
    net = nn.Sequential(dnas.LayerChoice({"a": nn.Linear(3, 1), "b": nn.Linear(3, 1)},
                                         label="lin")).double()
    dnas.relax(net, "darts")
    groups = arch_groups(net)
    X = torch.randn(8, 3, dtype=torch.float64)
    y = torch.randn(8, 1, dtype=torch.float64)

    def huge(out, target):
        return nn.functional.mse_loss(out, target) * 1e60

    preflight(net, huge, (X, y), (X, y), groups, generator(0), torch.device("cpu"))

    def infinite(out, target):
        return nn.functional.mse_loss(out, target) * float("inf")

    with pytest.raises(dnas.runtime.finite.NonFiniteError, match="training loss is inf"):
        preflight(net, infinite, (X, y), (X, y), groups, generator(0), torch.device("cpu"))


def test_a_detached_loss_and_a_raising_loss_are_named():
    _refused(ToyClassifier(), r"loss_fn's result carries no gradient: it does not depend on the "
             r"model's α or weights \(was it detached",
             loss_fn=lambda o, y: nn.functional.cross_entropy(o, y).detach())
    _refused(ToyClassifier(), r"loss_fn cannot compare the model output \(16, 3\) with the "
             r"training targets .*: ZeroDivisionError: division by zero",
             loss_fn=lambda o, y: 1 / 0)


def test_search_arguments_of_the_wrong_kind():
    t, v = toy_classification()
    with pytest.raises(TypeError, match=r"callbacks\[0\] is a int; callbacks must be "
                       r"dnas.Callback objects"):
        dnas.search(ToyClassifier(), t, v, epochs=1, callbacks=[1])
    with pytest.raises(TypeError, match=r"^callbacks=3 must be a list of dnas.Callback objects"):
        dnas.search(ToyClassifier(), t, v, epochs=1, callbacks=3)
    with pytest.raises(ValueError, match=r"train is a pair of lists: pass \(X, y\) as tensors"):
        dnas.search(ToyClassifier(), (t[0].tolist(), t[1].tolist()), v, epochs=1)
    with pytest.raises(ValueError, match=r"method_options\['tau_max'\]=inf must be a finite"):
        dnas.search(ToyClassifier(), t, v, epochs=1, method="gdas",
                    method_options={"tau_max": float("inf")})
    result = dnas.search(ToyClassifier(), t, v, epochs=1, batch_size=16, device="cpu",
                         seed=np.int64(3))  # NumPy integers are integers
    assert result.config.seed == 3 and type(result.config.seed) is int
