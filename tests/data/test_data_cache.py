"""Cache files appear whole or not at all."""

from __future__ import annotations

import numpy as np
import pytest

from dnas.data import cache
from dnas.data.cache import cache_directory, save_npz_atomic


def test_failed_write_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    save_npz_atomic(path, {"a": np.arange(3)})

    def crash(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(cache.np, "savez", crash)
    with pytest.raises(ValueError, match="cannot write the data cache in .*: disk full"):
        save_npz_atomic(path, {"a": np.arange(5)})
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]
    with np.load(path) as npz:
        assert npz["a"].tolist() == [0, 1, 2]


def test_unwritable_folder_is_a_one_line_value_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="cannot write the data cache in .*file"):
        save_npz_atomic(blocker / "sub" / "d.npz", {"a": np.arange(2)})


def test_cache_directory_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("DNAS_DATA_DIR", str(tmp_path / "env"))
    assert cache_directory(tmp_path / "arg") == tmp_path / "arg"
    assert cache_directory() == tmp_path / "env"
    monkeypatch.delenv("DNAS_DATA_DIR")
    assert cache_directory().parts[-2:] == (".cache", "dnas")
