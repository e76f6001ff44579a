"""A search stops at the first NaN or infinity, at that step, with one clear error, and the last
good checkpoint is kept (:mod:`dnas.bilevel.guard`, :mod:`dnas.runtime.finite`)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import dnas
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint
from dnas.runtime.finite import NonFiniteError
from tests.helpers import ToyClassifier, toy_classification


def _search(**options):
    train, valid = toy_classification()
    options = {"epochs": 2, "batch_size": 16, "device": "cpu", **options}
    return dnas.search(ToyClassifier(), train, valid, **options)


@pytest.mark.parametrize(
    "options, quantity, cause",
    [
        ({"w_lr": 1e30}, "the validation loss is nan", "w_lr=1e+30"),
        ({"w_lr": 1e30, "warmup_epochs": 1}, "the training loss is", "w_lr=1e+30"),
        ({"arch_lr": 1e30}, "the α after its step is nan", "arch_lr=1e+30"),
        ({"arch_lr": 1e30, "arch_optimizer": "sgd"}, "the α after its step is",
         "arch_lr=1e+30"),
    ],
)
def test_diverging_learning_rates_stop_the_search(options, quantity, cause):
    with pytest.raises(NonFiniteError) as err:
        _search(**options)
    message = str(err.value)
    assert message.startswith("search stopped at epoch 1, step ")
    assert quantity in message and cause in message


def test_the_last_good_checkpoint_is_kept(tmp_path):
    train, valid = toy_classification()

    class Steps(dnas.Callback):
        done = 0

        def on_step_end(self, searcher):
            Steps.done += 1

    def loss_fn(out, y):  # a loss that goes NaN at the 5th step
        loss = torch.nn.functional.cross_entropy(out, y)
        return loss * math.nan if Steps.done >= 4 else loss

    saver = Checkpoint(tmp_path, every_steps=1)
    with pytest.raises(NonFiniteError, match="epoch 2, step 2: the validation loss is nan"):
        dnas.search(ToyClassifier(), train, valid, epochs=3, batch_size=16, device="cpu",
                    loss_fn=loss_fn, callbacks=[Steps(), saver])
    state = load_checkpoint(tmp_path)  # finite (load_checkpoint checks it), and from before
    assert (state["epoch"], state["step"]) == (1, 1)


def test_a_loss_that_is_nan_from_the_start_blames_the_data_or_the_loss():
    def nan_loss(out, y):
        return torch.nn.functional.cross_entropy(out, y) * math.nan

    train, valid = toy_classification()
    net = ToyClassifier()
    alpha = [a.detach().clone() for a in dnas.arch_parameters(net)]
    with pytest.raises(NonFiniteError, match=r"^the training loss is nan on the first training "
                       r"batch, before any step: the data hold NaN/inf, or the model or the loss"):
        dnas.search(net, train, valid, epochs=1, batch_size=16, device="cpu", loss_fn=nan_loss)
    assert all(torch.equal(a, b) for a, b in zip(alpha, dnas.arch_parameters(net)))


@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_tensor_data_with_nan_or_inf_is_refused_up_front(where, bad):
    (X, y), valid = toy_classification()
    X, y = X.clone(), y.float()
    (X if where == "X" else y)[7] = bad
    with pytest.raises(ValueError, match=rf"train {where} holds \d+ NaN or infinite value\(s\); "
                       r"the first is (nan|inf) at sample 7"):
        dnas.search(ToyClassifier(), (X, y), valid, epochs=1, device="cpu",
                    loss_fn=lambda o, t: o.sum() * 0 + t.sum() * 0)


def test_a_dataloader_batch_with_nan_stops_at_its_step():
    (X, y), valid = toy_classification()
    X = X.clone()
    X[40] = math.nan  # in the third batch of 16 (no shuffling)
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    with pytest.raises(NonFiniteError, match=r"epoch 1, step 3: the training loss is nan.*a "
                       r"batch of the data holds NaN/inf"):
        dnas.search(ToyClassifier(), loader, DataLoader(TensorDataset(*valid), batch_size=16),
                    epochs=2, device="cpu", warmup_epochs=1)


def test_no_nan_reaches_the_result_of_a_healthy_search():
    result = _search()
    for row in result.history:
        assert math.isfinite(row["train_loss"]) and math.isfinite(row["valid_loss"])
    assert "NaN" not in result.architecture.to_json()
