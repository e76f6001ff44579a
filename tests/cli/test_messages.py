"""What the command line prints besides results: one line per warning, and an unexpected error
(not bad input) as one line with exit status 1."""

from __future__ import annotations

import warnings

import pytest

from dnas.cli import main as cli


def test_warnings_are_one_line_each(monkeypatch, capsys):
    def warns(args):
        warnings.warn("float64 inputs:\n  converting", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "_run", warns)
    assert cli.main(["methods"]) == 0
    err = capsys.readouterr().err
    assert err == "dnas: warning: float64 inputs: converting\n"


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
