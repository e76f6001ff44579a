"""The progress bar: shown on request, hidden otherwise, resumable."""

from __future__ import annotations

import io

from dnas.runtime.progress import progress_bar


def test_hidden_unless_asked_or_on_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal
    assert progress_bar(10, desc="x").disable
    assert progress_bar(10, desc="x", show=False).disable
    assert not progress_bar(10, desc="x", show=True).disable


def test_starts_where_a_resumed_run_stands():
    with progress_bar(10, initial=4, desc="search", show=True) as bar:
        bar.update(1)
        assert bar.n == 5 and bar.total == 10
