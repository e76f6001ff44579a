"""Every file dnas writes goes through one atomic write: a symbolic link planted under a
temporary name is never written through, a link inside a run folder is refused by name, a killed
run's temporaries are removed when the folder is used again, and a failed run writes no results."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dnas
from dnas.cli import options as opts
from dnas.cli.main import main
from dnas.cli.report import plot_alpha, plot_losses, write_history_csv
from dnas.cost.latency import LatencyTable
from dnas.data.cache import save_npz_atomic
from dnas.runtime import atomic
from dnas.runtime.checkpoint import save_checkpoint
from dnas.runtime.jsonio import write_json
from dnas.spaces.darts import draw_cell, genotype

TINY = ["--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3", "--batch", "8",
        "--epochs", "1", "--device", "cpu", "--no-progress", "--threads", "1"]
HISTORY = [{"epoch": 1, "train_loss": 1.0, "valid_loss": 1.1, "train_acc": 0.5,
            "valid_acc": math.nan, "probabilities": {"a": [0.4, 0.6]}, "alpha": {"a": [0, 1]}}]
WRITERS = {
    "config.yaml": lambda p: opts.write_yaml({"epochs": 1}, p),
    "architecture.json": lambda p: dnas.Architecture({"op": "a"}).save(p),
    "history.csv": lambda p: write_history_csv(HISTORY, p),
    "alpha.png": lambda p: plot_alpha(HISTORY, p, {"a": ["x", "y"]}),
    "loss.png": lambda p: plot_losses(HISTORY, p),
    "results.json": lambda p: write_json(p, {"test_accuracy": 0.5}),
    "last.pt": lambda p: save_checkpoint({"model": {"w": torch.ones(2)}}, p),
    "cell_normal.png": lambda p: draw_cell(genotype("DARTS_V2"), p, cell="normal"),
    "mnist1d.npz": lambda p: save_npz_atomic(p, {"x": np.zeros(3)}),
    "latency.json": lambda p: _latency_table(p).save(),
}


def _latency_table(path):
    table = LatencyTable(path)
    table.entries["conv"] = {"seconds": 0.001}
    table._dirty = True  # as after timing a module
    return table


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_link_planted_under_the_temporary_name_is_not_written_through(tmp_path, monkeypatch,
                                                                         name):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    draws = iter(["aaaaaaaaaaaa", "bbbbbbbbbbbb"] * 8)
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(draws))
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / f".{name}.aaaaaaaaaaaa.tmp").symlink_to(victim)  # the first name drawn
    WRITERS[name](folder / name)
    assert victim.read_bytes() == b"precious"
    assert (folder / name).is_file() and not (folder / name).is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, f".{name}.aaaaaaaaaaaa.tmp"])


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("name", ["config.yaml", "history.csv", "checkpoints"])
def test_a_link_inside_the_run_folder_is_refused(tmp_path, capsys, name):
    victim = tmp_path / "victim"
    victim.mkdir() if name == "checkpoints" else victim.write_text("precious")
    run = tmp_path / "run"
    run.mkdir()
    (run / name).symlink_to(victim)
    err = _error(capsys, ["search", "--out", str(run), *TINY])
    assert f"{name}' is a symbolic link" in err and "inside the output folder" in err
    assert victim.is_dir() and not any(victim.iterdir()) if name == "checkpoints" else \
        victim.read_text() == "precious"


def test_an_explicit_out_that_is_a_link_is_used_and_stale_temporaries_go(tmp_path, capsys):
    real = tmp_path / "real"
    (real / "checkpoints").mkdir(parents=True)
    stale = [real / ".history.csv.0123456789ab.tmp",
             real / "checkpoints" / ".last.pt.0a0b0c0d0e0f.tmp"]
    for p in stale:
        p.write_bytes(b"killed mid-write")
    (tmp_path / "named").symlink_to(real, target_is_directory=True)
    assert main(["search", "--out", str(tmp_path / "named"), *TINY]) == 0
    assert (real / "architecture.json").is_file()
    assert not any(p.exists() for p in stale)


def test_a_diverging_run_writes_no_results(tmp_path, capsys):
    run = tmp_path / "run"
    err = _error(capsys, ["search", "--out", str(run), *TINY, "--w-lr", "1e30",
                          "--checkpoint-every", "1"])
    assert err.startswith("dnas: error: search stopped at epoch 1, step ")
    assert "w_lr=1e+30" in err
    assert not (run / "architecture.json").exists()
    written = list((run / "checkpoints").glob("*.pt"))
    for path in written:  # whatever was saved before the bad step is finite
        dnas.runtime.load_checkpoint(path)
    err = _error(capsys, ["retrain", "--arch", "DARTS_V2", "--out", str(tmp_path / "rt"), *TINY,
                          "--lr", "1e30"])
    assert err.startswith("dnas: error: retraining stopped at epoch 1, step ")
    assert not (tmp_path / "rt" / "results.json").exists()
    assert not (tmp_path / "rt" / "model.pt").exists()
