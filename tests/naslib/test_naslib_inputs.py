"""Hostile input to the NASLib-style optimisers: one clear error naming the parameter and the
value, before any weight or α changes; NumPy batches and NumPy integers work as tensors do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnas.naslib import DARTSOptimizer, DrNASOptimizer, GDASOptimizer
from dnas.runtime.finite import NonFiniteError
from tests.helpers import ToyClassifier, toy_classification


@pytest.fixture
def data():
    return toy_classification(n=16)


def _optimizer(cls=DARTSOptimizer, **kw):
    torch.manual_seed(0)
    opt = cls(epochs=2, device="cpu", **kw)
    opt.adapt_search_space(ToyClassifier())
    return opt


def _state(opt):
    return [p.detach().clone() for p in opt.model.parameters()]


@pytest.mark.parametrize("kw,match", [
    ({"arch_optimizer": []}, r"^arch_optimizer=\[\] must be one of 'Adam', 'SGD'"),
    ({"arch_optimizer": np.array([1, 2])}, r"^arch_optimizer=array\(\[1, 2\]\) must be one of"),
    ({"op_optimizer": []}, r"^op_optimizer=\[\] must be one of 'SGD'"),
    ({"op_optimizer": np.array([1, 2])}, r"^op_optimizer=array\(\[1, 2\]\) must be one of"),
    ({"loss_criteria": 3}, r"^loss_criteria=3 must be one of 'CrossEntropyLoss', 'L1Loss', "
                           r"'MSELoss' or a callable"),
    ({"loss_criteria": "Hinge"}, r"^loss_criteria='Hinge' must be one of 'CrossEntropyLoss'"),
])
def test_choices(kw, match):
    with pytest.raises(ValueError, match=match):
        DARTSOptimizer(**kw)


def test_torch_classes_as_choices():
    opt = DARTSOptimizer(arch_optimizer=torch.optim.SGD, op_optimizer=torch.optim.SGD,
                         loss_criteria=torch.nn.CrossEntropyLoss)
    assert opt.config.arch_optimizer == "sgd"
    assert isinstance(opt.loss, torch.nn.CrossEntropyLoss)


@pytest.mark.parametrize("cls,method,match", [
    (DARTSOptimizer, "gdas", r"method='gdas' cannot be given to DARTSOptimizer, which runs "
                             r"'darts': use GDASOptimizer"),
    (GDASOptimizer, "drnas", r"method='drnas' cannot be given to GDASOptimizer.*DrNASOptimizer"),
    (DARTSOptimizer, "fair-darts", r"method='fair-darts' cannot be given.*dnas.search"),
    (DrNASOptimizer, ["darts"], r"method=\['darts'\] cannot be given to DrNASOptimizer"),
])
def test_the_class_fixes_the_method(cls, method, match):
    with pytest.raises(TypeError, match=match):
        cls(method=method)
    assert DARTSOptimizer(method="darts").config.method == "darts"  # its own method is no clash


@pytest.mark.parametrize("kw,match", [
    ({"w_lr": 0.1}, r"^w_lr=0.1 cannot be given to DARTSOptimizer: it is set by learning_rate"),
    ({"order": 2}, r"^order=2 cannot be given to DARTSOptimizer: it is set by unrolled"),
    ({"batch_size": 8}, r"^batch_size=8 cannot be given .* set by step\(\)'s batches"),
])
def test_options_the_constructor_sets_are_not_silently_overwritten(kw, match):
    with pytest.raises(TypeError, match=match):
        DARTSOptimizer(**kw)


@pytest.mark.parametrize("kw,error,match", [
    ({"tau_max": -1}, ValueError, r"^tau_max=-1 must be a finite number > 0"),
    ({"tau_min": 0}, ValueError, r"^tau_min=0 must be a finite number > 0"),
    ({"tau_min": float("nan")}, ValueError, r"^tau_min=nan must be"),
    ({"tau_max": "10"}, TypeError, r"^tau_max='10' must be a finite number > 0"),
    ({"tau_min": 5, "tau_max": 1}, ValueError, r"^tau_min=5 must be <= tau_max=1"),
])
def test_gdas_temperatures(kw, error, match):
    with pytest.raises(error, match=match):
        GDASOptimizer(**kw)


def test_new_epoch(data):
    opt = _optimizer()
    opt.new_epoch(np.int64(0))  # NumPy integers, as from np.arange
    opt.step(*data)
    opt.new_epoch(np.int32(1))
    assert opt.searcher.epoch == 1 and type(opt.epoch) is int
    with pytest.raises(ValueError, match=r"^epoch=0 must be >= 1, the current epoch"):
        opt.new_epoch(0)
    for bad in (2, -1, 1.0, True, "1"):
        with pytest.raises(ValueError, match=rf"^epoch={bad!r} must be an integer in \[0, 1\]"):
            opt.new_epoch(bad)


def test_numpy_batches_give_the_tensor_steps(data):
    train, valid = data
    a, b = _optimizer(), _optimizer()
    for _ in range(2):
        out_a = a.step(train, valid)
        out_b = b.step(tuple(v.numpy() for v in train), tuple(v.numpy() for v in valid))
    assert torch.equal(out_a[2], out_b[2]) and torch.equal(out_a[3], out_b[3])
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def _bad_x(train):
    x = train[0].clone()
    x[2, 1] = float("nan")
    return x


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("make_train,match", [
    (lambda t: (t[0].tolist(), t[1].tolist()),
     r"^data_train must be an \(X, y\) pair of tensors or NumPy arrays, got tuple of "
     r"\['list', 'list'\]"),
    (lambda t: t[0], r"^data_train must be an \(X, y\) pair .* got Tensor"),
    (lambda t: (t[0], t[1][:5]), r"^data_train: X has 8 rows but y has 5"),
    (lambda t: (_bad_x(t), t[1]), r"^data_train x holds 1 NaN or infinite value\(s\); the first "
                                  r"is nan at sample 2"),
])
def test_bad_batches_change_nothing(data, first, make_train, match):
    train, valid = data
    opt = _optimizer()
    if not first:
        opt.step(train, valid)
    before = _state(opt)
    with pytest.raises(ValueError, match=match):
        opt.step(make_train(train), valid)
    assert all(torch.equal(p, q) for p, q in zip(before, _state(opt)))
    assert all(torch.isfinite(p).all() for p in opt.model.parameters())


@pytest.mark.parametrize("make_y,match_first,match_later", [
    (lambda y: y + 5, r"training targets .*Target \d+ is out of bounds",
     r"^data_train targets hold class 7, but the model outputs 3 classes \(targets must be 0..2\)"),
    (lambda y: y - 5, r"training targets .*Target -\d is out of bounds",
     r"^data_train targets hold class -5, but the model outputs 3 classes"),
    (lambda y: y.float(), r"training targets \(y: \(8,\), torch.float32\)",
     r"^data_train targets are torch.float32 of shape \(8,\): CrossEntropyLoss takes class "
     r"indices"),
])
def test_targets_that_do_not_fit_the_loss(data, make_y, match_first, match_later):
    train, valid = data
    bad = (train[0], make_y(train[1]))
    with pytest.raises(ValueError, match=match_first):  # the pre-flight of the first batches
        _optimizer().step(bad, valid)
    opt = _optimizer()
    opt.step(train, valid)
    before = _state(opt)
    with pytest.raises(ValueError, match=match_later):
        opt.step(bad, valid)
    assert all(torch.equal(p, q) for p, q in zip(before, _state(opt)))


def test_ignored_targets_and_class_probabilities_pass(data):
    train, valid = data
    opt = _optimizer(loss_criteria=torch.nn.CrossEntropyLoss(ignore_index=-1))
    opt.step(train, valid)
    y = train[1].clone()
    y[0] = -1
    opt.step((train[0], y), valid)
    soft = torch.nn.functional.one_hot(train[1], 3).float()
    opt.step((train[0], soft), valid)


def test_regression_targets_of_another_shape(data):
    train, valid = data
    targets = lambda b: (b[0], torch.nn.functional.one_hot(b[1], 3).float())  # noqa: E731
    opt = _optimizer(loss_criteria="MSELoss")
    opt.step(targets(train), targets(valid))
    with pytest.raises(ValueError, match=r"^data_val targets have shape \(8,\) but the model "
                                         r"outputs \(n, 3\): MSELoss needs"):
        opt.step(targets(train), (valid[0], valid[1].float()))


def test_divergence_stops_the_step(data):
    """Stopped at the step, the message naming this API's option (learning_rate, not w_lr)."""
    train, valid = data
    opt = _optimizer(learning_rate=1e30, grad_clip=None)
    with pytest.raises(NonFiniteError, match=r"^search stopped at epoch 1, step \d+: the .* is "
                                             r"nan.*learning_rate=1e\+30 is too large"):
        for _ in range(20):
            opt.step(train, valid)


def test_gdas_relaxation_temperatures():
    from dnas.relaxations.gdas import HardGumbel

    with pytest.raises(TypeError, match=r"^tau_max='a' must be a finite number > 0"):
        HardGumbel(tau_max="a")
    with pytest.raises(ValueError, match=r"^tau_max=inf must be a finite number > 0"):
        HardGumbel(tau_min=float("inf"), tau_max=float("inf"))
