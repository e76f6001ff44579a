"""Checkpoint files and the Checkpoint callback: atomic writes, safe reads, where they are found."""

from __future__ import annotations

import pytest
import torch

from dnas.bilevel import SearchConfig, Searcher
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint, resolve_checkpoint, save_checkpoint
from tests.helpers import ToyClassifier, toy_classification


def _searcher(config, callbacks=(), init_seed=0):
    torch.manual_seed(init_seed)
    train, valid = toy_classification()
    return Searcher(ToyClassifier(), train, valid, config, callbacks=callbacks)


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


def test_resolve_finds_run_folder_checkpoint(tmp_path):
    save_checkpoint({"model": {}}, tmp_path / "run" / "checkpoints" / "last.pt")
    assert resolve_checkpoint(tmp_path / "run") == tmp_path / "run" / "checkpoints" / "last.pt"
    assert resolve_checkpoint(tmp_path / "run" / "checkpoints").name == "last.pt"


def test_every_steps_is_checked():
    with pytest.raises(ValueError, match="every_steps"):
        Checkpoint("x", every_steps=-1)
