"""Checkpoints: atomic writes, safe reads, and exact (bitwise) resume of a search in process."""

from __future__ import annotations

import pickle

import pytest
import torch

import dnas
from dnas.bilevel import SearchConfig, Searcher
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint, resolve_checkpoint, save_checkpoint
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


def test_checkpoint_callback_saves_every_n_steps_and_each_epoch(tmp_path):
    config = SearchConfig(epochs=2, batch_size=16, device="cpu")  # 3 steps per epoch
    cb = Checkpoint(tmp_path / "ck", every_steps=2)
    _searcher(config, callbacks=[cb]).run()
    # steps 2 of each epoch (mid-epoch) + 2 epoch ends
    assert cb.saved == 4
    state = load_checkpoint(tmp_path / "ck")
    assert (state["epoch"], state["step"]) == (2, 0)
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["last.pt"]  # no temporary files left


def test_checkpoint_keep_epochs_and_disabled(tmp_path):
    config = SearchConfig(epochs=2, batch_size=16, device="cpu")
    _searcher(config, callbacks=[Checkpoint(tmp_path / "a", keep_epochs=True)]).run()
    kept = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert kept == ["epoch_1.pt", "epoch_2.pt", "last.pt"]
    _searcher(config, callbacks=[Checkpoint(tmp_path / "b", enabled=False)]).run()
    assert not (tmp_path / "b").exists()


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = save_checkpoint({"model": {"w": torch.ones(2)}}, tmp_path / "last.pt")

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"model": {"w": torch.zeros(2)}}, path)
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_load_rejects_damaged_foreign_and_missing_files(tmp_path):
    good = save_checkpoint({"model": {"w": torch.ones(3)}}, tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:40])
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(1)}, foreign)
    with pytest.raises(ValueError, match="not a dnas checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(ValueError, match="no checkpoint at"):
        resolve_checkpoint(tmp_path / "nowhere")


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_load_refuses_to_run_pickled_code(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"model": _Evil()}, fh, protocol=2)
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out


def test_resolve_finds_run_folder_checkpoint(tmp_path):
    save_checkpoint({"model": {}}, tmp_path / "run" / "checkpoints" / "last.pt")
    assert resolve_checkpoint(tmp_path / "run") == tmp_path / "run" / "checkpoints" / "last.pt"
    assert resolve_checkpoint(tmp_path / "run" / "checkpoints").name == "last.pt"


def test_every_steps_is_checked():
    with pytest.raises(ValueError, match="every_steps"):
        Checkpoint("x", every_steps=-1)


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
