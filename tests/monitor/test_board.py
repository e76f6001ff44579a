"""The TensorBoard callback: event files read back with tensorboard's own reader."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

import dnas
from dnas.monitor import TensorBoard, entropy
from dnas.spaces import darts
from dnas.train import retrain

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None, reason="needs the tensorboard extra"
)


def read_events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                        "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_entropy():
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert entropy([0.25] * 4) == pytest.approx(math.log(4))
    assert entropy([2.0, 2.0]) == pytest.approx(math.log(2))  # normalised first (sigmoids)
    assert math.isnan(entropy([0.0, 0.0]))


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tb")
    torch.manual_seed(0)
    net = darts.search_network(C=2, layers=3, num_classes=2, dim=1, in_channels=1)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 1, 16, generator=g), torch.randint(0, 2, (32,), generator=g)
    with TensorBoard(tmp / "search", every_steps=1) as board:
        result = dnas.search(net, (X[:16], y[:16]), (X[16:], y[16:]), epochs=2, batch_size=8,
                             seed=0, device="cpu", progress=False, callbacks=[board])
    return tmp / "search", result


def test_search_event_file_holds_the_expected_tags(searched):
    folder, result = searched
    events = read_events(folder)
    tags = events.Tags()
    labels = list(result.history[0]["probabilities"])
    assert len(labels) == 28  # 14 edges of the normal and of the reduction cell
    scalars = set(tags["scalars"])
    for key in ("train_loss", "train_acc", "valid_loss", "valid_acc", "lr"):
        assert f"step/{key}" in scalars and f"epoch/{key}" in scalars
    assert "epoch/seconds" in scalars
    for label in labels:
        assert f"alpha_entropy/{label}" in scalars
        assert f"probability/{label}/sep_conv_3x3" in scalars
        assert f"alpha/{label}" in tags["histograms"]
    assert set(tags["images"]) == {"cell/normal", "cell/reduce"}
    assert "architecture/text_summary" in tags["tensors"]
    # the values are the run's: per-epoch scalars equal the history, entropies its probabilities
    for key in ("train_loss", "valid_acc", "lr"):
        logged = [(e.step, e.value) for e in events.Scalars(f"epoch/{key}")]
        assert logged == [(row["epoch"], pytest.approx(row[key], rel=1e-6))
                          for row in result.history]
    label = labels[0]
    logged = [e.value for e in events.Scalars(f"alpha_entropy/{label}")]
    assert logged == [pytest.approx(entropy(row["probabilities"][label]), rel=1e-5)
                      for row in result.history]
    hist = events.Histograms(f"alpha/{label}")[-1].histogram_value
    assert list(hist.bucket) == pytest.approx(result.history[-1]["probabilities"][label])
    # step scalars: one per step of the 2 x 2 steps, at the global step
    assert [e.step for e in events.Scalars("step/train_loss")] == [1, 2, 3, 4]
    image = events.Images("cell/normal")[-1]
    assert image.width > 50 and image.height > 20 and image.encoded_image_string[:4] == (
        b"\x89PNG"
    )


def test_retraining_run(tmp_path):
    torch.manual_seed(0)
    model = darts.eval_network(darts.genotype("DARTS_V2"), C=2, layers=3, num_classes=2,
                               auxiliary=False, dim=1, in_channels=1)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(24, 1, 16, generator=g), torch.randint(0, 2, (24,), generator=g)
    with TensorBoard(tmp_path, every_steps=1) as board:
        result = retrain(model, (X[:16], y[:16]), (X[16:], y[16:]), epochs=2, batch_size=8,
                         cutout=0, crop_padding=0, flip=False, device="cpu", progress=False,
                         callbacks=[board])
    events = read_events(tmp_path)
    scalars = set(events.Tags()["scalars"])
    assert {"step/train_loss", "step/lr", "epoch/test_acc", "epoch/test_loss",
            "epoch/drop_path_prob"} <= scalars
    assert [e.value for e in events.Scalars("epoch/test_acc")] == pytest.approx(
        [row["test_acc"] for row in result.history]
    )
    assert not events.Tags()["images"]  # no architecture to draw in a retraining


def test_a_search_under_a_budget_logs_its_cost(tmp_path):
    from tests.helpers import ToyClassifier, toy_classification

    train, valid = toy_classification()
    with TensorBoard(tmp_path, every_steps=0) as board:
        result = dnas.search(ToyClassifier(), train, valid, epochs=2, batch_size=16,
                             cost="params", budget=150, seed=0, device="cpu", progress=False,
                             callbacks=[board])
    events = read_events(tmp_path)
    for key in ("expected_cost", "argmax_cost", "cost_penalty"):
        assert [e.value for e in events.Scalars(f"epoch/{key}")] == pytest.approx(
            [row[key] for row in result.history], rel=1e-6)
    assert [e.value for e in events.Scalars("epoch/budget")] == [150.0, 150.0]
    assert "step/train_loss" not in events.Tags()["scalars"]  # every_steps=0: epochs only
    assert not events.Tags()["images"]  # a user's space: no DARTS cells to draw
    assert "architecture/text_summary" in events.Tags()["tensors"]


def test_cost_and_nested_numbers_in_a_row(tmp_path):
    with TensorBoard(tmp_path) as board:
        board.log_row({"epoch": 1, "expected_cost": 12.5, "budget": 10,
                       "cost": {"params": 3.0, "flops": 7.0}, "note": "text", "flag": True,
                       "probabilities": {"act": [0.5, 0.5]}}, 1, {"act": ["relu", "tanh"]})
    scalars = set(read_events(tmp_path).Tags()["scalars"])
    assert {"epoch/expected_cost", "epoch/budget", "epoch/cost/params", "epoch/cost/flops",
            "alpha_entropy/act", "probability/act/relu", "probability/act/tanh"} == scalars


def test_without_tensorboard_a_clear_message(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ImportError, match=r"needs the tensorboard package: pip install "
                                          r"'dnas\[tensorboard\]'"):
        TensorBoard(tmp_path)
    with pytest.raises(ValueError, match="every_steps=-1 must be an integer >= 0"):
        TensorBoard(tmp_path, every_steps=-1)


def test_a_log_dir_that_cannot_be_a_folder_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^log_dir='.*file/tb' cannot be used as a TensorBoard "
                                         r"log folder"):
        TensorBoard(tmp_path / "file" / "tb")
