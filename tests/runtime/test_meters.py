"""Meters: named running sums on the device, one summary per epoch, state that round-trips."""

from __future__ import annotations

import math

import pytest
import torch

from dnas.runtime.meters import FIELDS, Meters


def _batch(n, correct):
    logits = torch.zeros(n, 3)
    y = torch.zeros(n, dtype=torch.long)
    logits[:correct, 0] = 1.0  # the first `correct` rows predict class 0
    logits[correct:, 1] = 1.0
    return logits, y


def test_loss_is_sample_weighted_and_accuracy_counts_hits():
    m = Meters(("train", "valid"))
    m["train"].update(torch.tensor(1.0), *_batch(4, 3))
    m["train"].update(torch.tensor(4.0), *_batch(2, 0))
    s = m.summary()
    assert s["train_loss"] == pytest.approx((1.0 * 4 + 4.0 * 2) / 6)
    assert s["train_acc"] == pytest.approx(3 / 6)
    assert math.isnan(s["valid_loss"]) and math.isnan(s["valid_acc"])


def test_regression_targets_and_tuple_outputs():
    m = Meters(("train",))
    m["train"].update(torch.tensor(2.0), torch.zeros(5, 1), torch.zeros(5, 1))
    s = m.summary()
    assert s["train_loss"] == 2.0 and math.isnan(s["train_acc"])  # nothing to score
    logits, y = _batch(4, 4)
    m["train"].update(torch.tensor(0.0), (logits, torch.zeros(4, 3)), y)  # (logits, aux)
    assert m["train"].correct.item() == 4 and m["train"].scored.item() == 4


def test_named_fields_reset_and_state_round_trip():
    m = Meters(("train", "valid"))
    m["valid"].update(torch.tensor(0.5), *_batch(2, 1))
    state = m.state_dict()
    assert set(state) == {f"{s}.{f}" for s in ("train", "valid") for f in FIELDS}
    other = Meters(("train", "valid"))
    other.load_state_dict(state)
    assert other.summary() == pytest.approx(m.summary(), nan_ok=True)
    copy = m.copy()
    copy["valid"].loss_sum += 10
    assert m["valid"].loss_sum.item() == 1.0  # a copy is independent
    m.reset()
    assert all(t.item() == 0 for t in m.tensors())


def test_older_checkpoints_with_short_keys_load():
    search = {"tl": 2.0, "tn": 4.0, "tc": 1.0, "ta": 4.0, "vl": 1.0, "vn": 2.0, "vc": 0.0,
              "va": 2.0}
    m = Meters(("train", "valid"))
    m.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in search.items()})
    assert m.summary() == {"train_loss": 0.5, "train_acc": 0.25, "valid_loss": 0.5,
                           "valid_acc": 0.0}
    retrain = Meters(("train",))
    retrain.load_state_dict({"loss": torch.tensor(3.0), "correct": torch.tensor(2.0),
                             "n": torch.tensor(4.0)})
    assert retrain.summary() == {"train_loss": 0.75, "train_acc": 0.5}


def test_updates_do_not_sync_with_the_host():
    m = Meters(("train",))
    logits, y = _batch(3, 2)
    m["train"].update(torch.tensor(1.0), logits, y)
    assert all(t.dtype == torch.float64 and t.dim() == 0 for t in m.tensors())
