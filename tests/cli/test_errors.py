"""Bad input through ``main(argv)``: exactly one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import json

import pytest

from dnas.cli.main import main

TINY = ["--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3", "--batch", "8",
        "--epochs", "1", "--device", "cpu", "--no-progress"]


def _one_line_error(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["search", "--space", "nope"], ["space='nope'", "darts"]),
        (["search", "--method", "nope"], ["method='nope'", "darts"]),
        (["search", "--data", "nope"], ["data='nope'", "mnist1d"]),
        (["search", "--data", "cifar10"], ["--data-root"]),
        (["search", "--epochs", "abc"], ["epochs='abc' must be an integer"]),
        (["search", "--epochs", "-1"], ["epochs=-1"]),
        (["search", "--channels", "0"], ["channels=0"]),
        (["search", "--order", "3"], ["order=3"]),
        (["search", "--dim", "3"], ["dim=3"]),
        (["search", "--amp", "fp8"], ["amp='fp8'"]),
        (["search", "--crop-padding", "-1"], ["crop_padding=-1"]),
        (["search", "--threads", "0", *TINY], ["threads=0"]),
        (["search", "--dim", "1", *TINY], ["dim=1", "digits"]),
        (["search", "--resume"], ["--resume", "--out"]),
        (["search", "--no-such-flag"], ["--no-such-flag"]),
        (["retrain"], ["--arch"]),
        (["retrain", "--arch", "NO_SUCH_GENOTYPE"], ["NO_SUCH_GENOTYPE"]),
        (["draw", "missing.json"], ["missing.json"]),
        (["genotypes", "NOPE"], ["NOPE"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, argv, needles):
    monkeypatch.chdir(tmp_path)  # nothing may be written anywhere else
    _one_line_error(capsys, argv, *needles)


def test_missing_and_corrupt_cifar_folder(capsys, tmp_path):
    _one_line_error(capsys, ["search", "--data", "cifar10", "--data-root", str(tmp_path / "no")],
                    "dnas: error:")
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for name in ["batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        (root / name).write_bytes(b"\x80\x04 this is not a pickle")
    _one_line_error(capsys, ["search", "--data", "cifar10", "--data-root", str(tmp_path),
                             "--out", str(tmp_path / "run")], "dnas: error:")
    assert not (tmp_path / "run" / "architecture.json").exists()


def test_malformed_architecture_files(capsys, tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    _one_line_error(capsys, ["retrain", "--arch", str(bad_json)], "malformed architecture JSON")
    _one_line_error(capsys, ["draw", str(bad_json)], "malformed architecture JSON")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "dnas.architecture", "version": 1,
                                 "choices": {"normal/edge_2_0": ["teleport"]}, "meta": {}}))
    _one_line_error(capsys, ["retrain", "--arch", str(wrong), "--data", "digits"], "dnas: error:")


def test_config_file_errors(capsys, tmp_path):
    _one_line_error(capsys, ["search", "--config", str(tmp_path / "none.yaml")], "does not exist")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1, 2\n")
    _one_line_error(capsys, ["search", "--config", str(bad)], "not valid YAML")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("epochs: 1\nlearning_speed: 3\n")
    _one_line_error(capsys, ["search", "--config", str(unknown)], "learning_speed")
    wrong_type = tmp_path / "wrong_type.yaml"
    wrong_type.write_text("epochs: many\n")
    _one_line_error(capsys, ["search", "--config", str(wrong_type)], "epochs='many'")


def test_resume_from_nothing(capsys, tmp_path):
    _one_line_error(capsys, ["search", "--resume", str(tmp_path / "no-run")], "no checkpoint")


def test_traceback_flag_reraises(tmp_path):
    with pytest.raises(ValueError, match="space='nope'"):
        main(["--traceback", "search", "--space", "nope"])
