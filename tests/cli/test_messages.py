"""What the command line prints besides results: one line per warning, and an unexpected error
(not bad input) as one line with exit status 1."""

from __future__ import annotations

import pytest

from dnas.cli import main as cli


def test_warnings_are_one_line_each(tmp_path, capsys):
    argv = ["search", "--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3",
            "--batch", "8", "--epochs", "1", "--warmup-epochs", "1", "--device", "cpu",
            "--no-progress", "--threads", "1", "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert ("dnas: warning: warmup_epochs=1 >= epochs=1: α never moves; the search trains the "
            "weights only") in err
    assert "UserWarning" not in err and "warnings.warn" not in err


def test_an_unexpected_error_is_one_line_and_status_1(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("CUDA error: an illegal memory access\nmore lines")

    monkeypatch.setattr(cli, "_run", boom)
    assert cli.main(["methods"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("dnas: error: RuntimeError: CUDA error: an illegal memory access "
                   "(--traceback shows where)")
    with pytest.raises(RuntimeError):
        cli.main(["--traceback", "methods"])
