"""A search's state: exact (bitwise) resume in process, with RNGs, augmentation and callers' RNG."""

from __future__ import annotations

import pytest
import torch

import dnas
from dnas.bilevel import SearchConfig, Searcher
from dnas.runtime.checkpoint import load_checkpoint, save_checkpoint
from tests.helpers import StopAt, ToyClassifier, toy_classification


def _searcher(config, callbacks=(), init_seed=0):
    torch.manual_seed(init_seed)
    train, valid = toy_classification()
    return Searcher(ToyClassifier(), train, valid, config, callbacks=callbacks)


def _state(searcher):
    return {n: p.detach().clone() for n, p in searcher.model.named_parameters()}


@pytest.mark.parametrize(
    "method, order",
    [("darts", 1), ("darts", 2), ("gdas", 1), ("drnas", 1), ("fair-darts", 2)],
)
def test_resume_mid_epoch_is_bitwise_exact(tmp_path, method, order):
    config = SearchConfig.for_method(method, order=order, epochs=3, batch_size=16, device="cpu")
    full = _searcher(config)
    full.run()

    first = _searcher(config, callbacks=[StopAt(1, 2)])
    first.run()
    assert (first.epoch, first.step) == (1, 2)  # really stopped mid-epoch
    save_checkpoint(first.state_dict(), tmp_path / "last.pt")

    # a fresh process would rebuild the model from other random weights: the checkpoint decides
    resumed = _searcher(config, init_seed=123)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    result = resumed.run()

    a, b = _state(full), _state(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert result.architecture == dnas.derive(full.model)
    assert [r["alpha"] for r in result.history] == [r["alpha"] for r in full.history]
    assert [r["train_loss"] for r in result.history] == [r["train_loss"] for r in full.history]


def test_resume_does_not_touch_callers_global_rng(tmp_path):
    config = SearchConfig(epochs=1, batch_size=16, device="cpu")
    s = _searcher(config, callbacks=[StopAt(0, 1)])
    s.run()
    state = s.state_dict()
    torch.manual_seed(7)
    before = torch.get_rng_state()
    other = _searcher(config, init_seed=3)
    torch.set_rng_state(before)
    other.load_state_dict(state)
    assert torch.equal(torch.get_rng_state(), before)


def _jitter(x, generator):
    return x + 0.3 * torch.randn(x.shape, generator=generator)


def test_augmented_search_resumes_bitwise_and_augments_both_halves(tmp_path):
    config = SearchConfig(epochs=2, batch_size=16, device="cpu", seed=3)
    seen = []

    def recording(x, generator):
        seen.append(x.shape[0])
        return _jitter(x, generator)

    train, valid = toy_classification()
    torch.manual_seed(0)
    full = Searcher(ToyClassifier(), train, valid, config, augment=recording)
    full.run()
    assert len(seen) == 2 * 2 * full.steps_per_epoch  # every training and validation batch
    torch.manual_seed(0)
    plain = Searcher(ToyClassifier(), train, valid, config)
    plain.run()
    assert not torch.equal(_state(full)["act.arch.alpha"], _state(plain)["act.arch.alpha"])

    torch.manual_seed(0)
    first = Searcher(ToyClassifier(), train, valid, config, augment=_jitter,
                     callbacks=[StopAt(1, 1)])
    first.run()
    save_checkpoint(first.state_dict(), tmp_path / "last.pt")
    torch.manual_seed(9)
    resumed = Searcher(ToyClassifier(), train, valid, config, augment=_jitter)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    resumed.run()
    a, b = _state(full), _state(resumed)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_augment_must_be_callable():
    train, valid = toy_classification()
    with pytest.raises(ValueError, match="augment must be callable"):
        Searcher(ToyClassifier(), train, valid, SearchConfig(epochs=1, device="cpu"), augment=3)
