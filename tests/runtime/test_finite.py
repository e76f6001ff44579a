"""The non-finite guard: one clear error at the step where a NaN/inf appears; states holding one
are never written nor read; data holding one are refused with count and position."""

from __future__ import annotations

import math

import pytest
import torch

from dnas.runtime.checkpoint import load_checkpoint, save_checkpoint
from dnas.runtime.finite import FiniteGuard, NonFiniteError, check_data, check_state


def test_guard_passes_finite_steps_and_names_the_first_bad_quantity():
    guard = FiniteGuard("search", causes={"training loss": "w_lr=10 is too large"})
    guard.watch("validation loss", torch.tensor(1.0))
    guard.watch("training loss", torch.tensor(2.0))
    guard.check(epoch=0, step=0)
    guard.watch("validation loss", torch.tensor(1.0))
    guard.watch("training loss", torch.tensor(math.nan))
    guard.watch("gradient norm", torch.tensor(math.inf))
    with pytest.raises(NonFiniteError) as err:
        guard.check(epoch=2, step=6)
    message = str(err.value)
    assert message.startswith("search stopped at epoch 3, step 7: the training loss is nan")
    assert "Likely cause: w_lr=10 is too large" in message
    assert (err.value.quantity, err.value.epoch, err.value.step) == ("training loss", 3, 7)
    assert isinstance(err.value, ValueError)  # the command line: one line, exit status 2


def test_first_step_cause_and_multi_process_reduction():
    guard = FiniteGuard("retraining", causes={"loss": "lr"}, first_step_causes={"loss": "data"})
    guard.watch("loss", torch.tensor([1.0, math.inf]))
    with pytest.raises(NonFiniteError, match="the loss is inf. Likely cause: data"):
        guard.check(epoch=0, step=0, fresh=True)

    def other_rank_saw_nan(tensors):  # as an all-reduce over processes would
        tensors[0] += 1

    guard.watch("loss", torch.tensor(1.0))
    with pytest.raises(NonFiniteError, match="non-finite on another process"):
        guard.check(epoch=1, step=0, reduce=other_rank_saw_nan)


def test_check_state_names_tensors():
    state = {"model": {"w": torch.tensor([1.0, math.nan, math.inf]), "n": torch.tensor([3])},
             "history": [{"acc": math.nan}]}  # Python floats (n/a metrics) are not tensors
    with pytest.raises(NonFiniteError, match=r"the state holds NaN or infinite values: "
                       r"model\['w'\] \(2 of 3\)"):
        check_state(state, "the state")
    check_state({"model": {"w": torch.ones(2)}, "rng": torch.zeros(4, dtype=torch.uint8)}, "s")


def test_check_data_counts_and_locates():
    X = torch.zeros(5, 3)
    X[2, 1], X[4, 0] = math.nan, -math.inf
    with pytest.raises(ValueError, match=r"^train X holds 2 NaN or infinite value\(s\); the "
                       r"first is nan at sample 2, position 1"):
        check_data(X, "train X")
    check_data(torch.tensor([1, 2, 3]), "y")  # integers cannot be NaN


def test_checkpoints_with_non_finite_values_are_neither_written_nor_read(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint({"model": {"w": torch.ones(3)}, "epoch": 1}, path)
    good = path.read_bytes()
    with pytest.raises(NonFiniteError, match=r"refusing to write checkpoint .*model\['w'\]"):
        save_checkpoint({"model": {"w": torch.tensor([1.0, math.nan])}, "epoch": 2}, path)
    assert path.read_bytes() == good  # the last good checkpoint is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary left
    bad = tmp_path / "bad.pt"
    torch.save({"model": {"w": torch.tensor([math.inf])}}, bad)
    with pytest.raises(ValueError, match=r"checkpoint .*bad\.pt' \(not written by a healthy "
                       r"run\) holds NaN or infinite values: model\['w'\]"):
        load_checkpoint(bad)
