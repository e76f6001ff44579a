"""A checkpoint is checked against the loop it is loaded into before anything changes: the model,
the position (epoch, step, history) and the options it was written with."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnas.bilevel import SearchConfig, Searcher
from dnas.train import RetrainConfig, Trainer
from tests.helpers import StopAt, ToyClassifier, toy_classification


def _searcher(config, model=None, callbacks=()):
    torch.manual_seed(0)
    train, valid = toy_classification()
    return Searcher(model or ToyClassifier(), train, valid, config, callbacks=callbacks)


@pytest.fixture(scope="module")
def saved():
    config = SearchConfig(epochs=3, batch_size=16, device="cpu")
    s = _searcher(config, callbacks=[StopAt(1, 2)])
    s.run()
    return config, s.state_dict()


def _weights(searcher):
    return {k: v.clone() for k, v in searcher.model.state_dict().items()}


@pytest.mark.parametrize(
    "change, match",
    [
        ({"step": 10**9}, r"holds step=1000000000, which must be an integer in \[0, 3\]"),
        ({"step": -1}, r"step=-1, which must be an integer in \[0, 3\]"),
        ({"epoch": 7}, r"holds epoch=7, which must be an integer in \[0, 3\]"),
        ({"epoch": "1"}, r"holds epoch='1', which must be an integer"),
        ({"history": []}, "is at epoch 1 but holds 0 history rows"),
    ],
)
def test_positions_out_of_range_are_refused(saved, change, match):
    config, state = saved
    s = _searcher(config)
    before = _weights(s)
    with pytest.raises(ValueError, match=match):
        s.load_state_dict({**state, **change})
    assert all(torch.equal(before[k], v) for k, v in s.model.state_dict().items())


def test_another_model_is_named(saved):
    config, state = saved

    class Wider(ToyClassifier):
        def __init__(self):
            super().__init__(h=9)

    with pytest.raises(ValueError, match=r"does not fit this model .*'inp.weight': \(8, 6\) in "
                       r"the checkpoint, \(9, 6\) here"):
        _searcher(config, Wider()).load_state_dict(state)


def test_structural_options_must_match_and_others_warn(saved):
    config, state = saved
    with pytest.raises(ValueError, match=r"written with other options: method='darts' there, "
                       r"'gdas' here"):
        _searcher(SearchConfig.for_method("gdas", epochs=3, batch_size=16, device="cpu")
                  ).load_state_dict(state)
    with pytest.raises(ValueError, match="batch_size=16 there, 8 here"):
        _searcher(config.replace(batch_size=8)).load_state_dict(state)
    with pytest.warns(UserWarning, match=r"changed option\(s\) w_lr: 0.025 -> 0.05"):
        _searcher(config.replace(w_lr=0.05)).load_state_dict(state)
    s = _searcher(config.replace(device="cpu", progress=False))  # where it runs is free
    s.load_state_dict(state)
    assert (s.epoch, s.step) == (1, 2)


def test_retraining_checkpoints_are_checked_too():
    X, y = torch.randn(32, 5), torch.randint(0, 3, (32,))
    config = RetrainConfig(epochs=2, batch_size=8, device="cpu", cutout=0, crop_padding=0,
                           flip=False, amp="off")
    t = Trainer(nn.Linear(5, 3), (X, y), (X, y), config)
    state = t.state_dict()
    with pytest.raises(ValueError, match=r"holds step=99, which must be an integer in \[0, 4\]"):
        Trainer(nn.Linear(5, 3), (X, y), (X, y), config).load_state_dict({**state, "step": 99})
    with pytest.raises(ValueError, match="does not fit this model"):
        Trainer(nn.Linear(5, 4), (X, y), (X, y), config).load_state_dict(state)
