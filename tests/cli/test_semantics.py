"""Options that would run and silently mean nothing are refused by the command line: no epochs,
a warm-up as long as the run, a cutout or padding beyond the inputs, a cell too large to draw, an
architecture file too large or too deep, a checkpoint from elsewhere."""

from __future__ import annotations

import json

import pytest

from dnas.cli.main import main

TINY = ["--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3", "--batch", "8",
        "--device", "cpu", "--no-progress", "--threads", "1"]


def _one_line(capsys, argv, needle):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if not line.startswith("dnas: note:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert needle in errors[0], err


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--epochs", "0"], "epochs=0 must be an integer >= 1"),
        (["--epochs", "2", "--warmup-epochs", "2"],
         "warmup_epochs=2 must be less than epochs=2: α would never move; pass --warmup-epochs"),
        (["--epochs", "5", "--method", "pc-darts"],
         "warmup_epochs=15 must be less than epochs=5: α would never move (pc-darts's preset "
         "warms up 15 epochs)"),
        (["--epochs", "1", "--crop-padding", "8"],
         "crop_padding=8 must be less than the image side 8"),
    ],
)
def test_search_refusals(tmp_path, capsys, extra, needle):
    _one_line(capsys, ["search", "--out", str(tmp_path / "run"), *TINY, *extra], needle)
    assert not (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--epochs", "0"], "epochs=0 must be an integer >= 1"),
        (["--epochs", "1", "--cutout", "16"],
         "cutout=16 must be at most the image side 8: a longer cutout blanks whole inputs"),
    ],
)
def test_retrain_refusals(tmp_path, capsys, extra, needle):
    _one_line(capsys, ["retrain", "--arch", "DARTS_V2", "--out", str(tmp_path / "run"), *TINY,
                       *extra], needle)
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_architecture_files_too_deep_or_too_large_or_too_wide(tmp_path, capsys):
    head = '{"format": "dnas.architecture", "version": 1, '
    deep = tmp_path / "deep.json"
    deep.write_text(head + '"choices": {"x": ["a"]}, "meta": {"a": ' + "[" * 200_000
                    + "]" * 200_000 + "}}")
    _one_line(capsys, ["draw", str(deep)], "is nested too deeply")
    _one_line(capsys, ["retrain", "--arch", str(deep), *TINY], "is nested too deeply")
    large = tmp_path / "large.json"
    large.write_text(head + '"choices": {}, "meta": {"pad": "' + "x" * 5_000_000 + '"}}')
    _one_line(capsys, ["draw", str(large)], "is larger than 4,194,304 bytes")
    wide = tmp_path / "wide.json"  # a 140-node cell: ~660 KB, the canvas would need ~1.7 GB
    choices = {f"normal/edge_{k}_{j}": ["skip_connect"] for k in range(2, 142) for j in range(k)}
    wide.write_text(json.dumps({"format": "dnas.architecture", "version": 1,
                                "choices": choices, "meta": {}}))
    _one_line(capsys, ["draw", str(wide), "--out", str(tmp_path / "cell")],
              "the normal cell has 140 nodes; diagrams are drawn for cells of at most 32")
    assert not list(tmp_path.glob("cell*"))


def test_a_checkpoint_from_another_run_is_named(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "--out", str(run), *TINY, "--epochs", "1"]) == 0
    capsys.readouterr()
    _one_line(capsys, ["search", "--resume", str(run / "checkpoints" / "last.pt"), "--out",
                       str(tmp_path / "other"), *TINY, "--epochs", "2", "-C", "6"],
              "last.pt' does not fit this model (other channels, layers, data or method?): ")
    _one_line(capsys, ["search", "--resume", str(run), *TINY, "--epochs", "2", "--batch", "4"],
              "last.pt' was written with other options: batch_size=8 there, 4 here")
