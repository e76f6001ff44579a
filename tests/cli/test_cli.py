"""The command line end to end on tiny settings: search, its run folder, retrain, draw, listings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from dnas import Architecture
from dnas.cli.main import main
from dnas.runtime.checkpoint import load_checkpoint

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    """One tiny search through main(): YAML values, overridden in part by flags."""
    tmp = tmp_path_factory.mktemp("search")
    config = tmp / "config.yaml"
    config.write_text(
        "data: digits\nn_train: 48\nchannels: 4\nlayers: 3\nbatch_size: 8\n"
        "epochs: 5\nsteps_per_epoch: 2\narch_lr: 0.01\nmethod_options: {}\n"
    )
    out = tmp / "run"
    argv = ["search", "--config", str(config), "--epochs", "2", "--seed", "1", "--device", "cpu",
            "--threads", "1", "--no-progress", "--out", str(out), "--cache-dir", str(tmp / "c"),
            "--crop-padding", "1", "--flip"]
    assert main(argv) == 0
    return out


def test_search_run_folder_holds_everything(search_run, capsys):
    names = {p.name for p in search_run.iterdir()}
    assert {"config.yaml", "architecture.json", "history.csv", "alpha.png", "loss.png",
            "cell_normal.png", "cell_reduce.png", "checkpoints"} <= names
    for png in ("alpha.png", "loss.png", "cell_normal.png"):
        assert (search_run / png).read_bytes()[:8] == PNG
    assert (search_run / "checkpoints" / "last.pt").is_file()
    assert not [p for p in search_run.rglob(".*")]  # no temporary files left behind


def test_resolved_config_layers_yaml_under_flags(search_run):
    resolved = yaml.safe_load((search_run / "config.yaml").read_text())
    assert resolved["epochs"] == 2  # flag over YAML
    assert resolved["channels"] == 4 and resolved["batch_size"] == 8  # YAML over defaults
    assert resolved["arch_lr"] == 0.01
    assert resolved["w_lr"] == 0.025  # DARTS default, filled in
    assert resolved["dim"] == 2 and resolved["device"] == "cpu"
    assert resolved["crop_padding"] == 1 and resolved["flip"] is True  # search augmentation


def test_search_augmentation_defaults_follow_the_data():
    from dnas.cli import options

    assert options.resolve("search", {"data": "cifar10"})["crop_padding"] == 4  # as DARTS
    assert options.resolve("search", {"data": "cifar10"})["flip"] is True
    assert options.resolve("search", {})["crop_padding"] == 0  # demo data: off


def test_history_and_architecture_agree(search_run):
    rows = list(csv.DictReader((search_run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    arch = Architecture.load(search_run / "architecture.json")
    from dnas.spaces.darts import validate_architecture

    validate_architecture(arch)
    assert arch.meta["data"] == "digits" and arch.meta["dim"] == 2
    # the last CSV row holds the final α the architecture was derived from
    last = rows[-1]
    for label, values in arch.meta["alpha"].items():
        for i, v in enumerate(values):
            assert float(last[f"alpha:{label}:{i}"]) == pytest.approx(v, rel=1e-6)
    state = load_checkpoint(search_run)
    assert (state["epoch"], state["step"]) == (2, 0)


def test_resume_of_a_finished_run_changes_nothing(search_run, capsys):
    before = (search_run / "architecture.json").read_text()
    assert main(["search", "--resume", str(search_run), "--threads", "1", "--no-progress"]) == 0
    assert (search_run / "architecture.json").read_text() == before


def test_retrain_the_found_architecture(search_run, tmp_path, capsys):
    out = tmp_path / "retrain"
    argv = ["retrain", "--arch", str(search_run / "architecture.json"), "--n-train", "32",
            "-C", "4", "--layers", "3", "--epochs", "2", "--batch", "8", "--cutout", "2",
            "--channels-last",
            "--device", "cpu", "--threads", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert 0.0 <= results["test_accuracy"] <= 1.0
    assert f"test accuracy: {results['test_accuracy']:.4f}" in printed
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [float(r["drop_path_prob"]) for r in rows] == [0.0, 0.1]  # 0.2 ramped over 2 epochs
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["data"] == "digits"  # read from the architecture's meta
    assert (resolved["lr"], resolved["momentum"], resolved["weight_decay"]) == (0.025, 0.9, 3e-4)
    assert (resolved["auxiliary_weight"], resolved["grad_clip"]) == (0.4, 5.0)
    assert (out / "model.pt").is_file() and (out / "loss.png").read_bytes()[:8] == PNG
    # --resume picks the run folder's config and checkpoint up; a finished run stays finished
    assert main(["retrain", "--resume", "--out", str(out), "--no-progress"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["test_accuracy"] == results["test_accuracy"]


def test_draw_and_listings(tmp_path, capsys):
    assert main(["draw", "DARTS_V2", "--out", str(tmp_path / "v2"), "--format", "svg"]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in written) == ["v2_normal.svg", "v2_reduce.svg"]
    assert main(["methods"]) == 0
    assert "darts" in capsys.readouterr().out.split()
    assert main(["genotypes"]) == 0
    assert "DARTS_V2" in capsys.readouterr().out.split()
    assert main(["genotypes", "DARTS_V2"]) == 0
    arch = Architecture.from_json(capsys.readouterr().out)
    assert "normal/edge_2_0" in arch or len(arch) > 0
