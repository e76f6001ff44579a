"""The one atomic write: old file or new file, never half; no debris; no writing through links."""

from __future__ import annotations

import os
import stat

import pytest

from dnas.runtime import atomic
from dnas.runtime.atomic import atomic_write, atomic_writer


def test_writes_text_and_bytes_and_creates_the_folder(tmp_path):
    p = atomic_write(tmp_path / "a" / "b" / "x.txt", "héllo\n")
    assert p.read_text(encoding="utf-8") == "héllo\n"
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(p.parent)) == ["x.txt"]


def test_text_mode_keeps_newlines_as_asked(tmp_path):
    with atomic_writer(tmp_path / "t.csv", "w", newline="") as fh:
        fh.write("a,b\r\n1,2\r\n")
    assert (tmp_path / "t.csv").read_bytes() == b"a,b\r\n1,2\r\n"


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path, error):
    p = tmp_path / "x.json"
    atomic_write(p, "old")
    with pytest.raises(type(error)), atomic_writer(p, "w") as fh:
        fh.write("half of the new")
        raise error
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["x.json"]


def test_the_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(atomic.os, "replace",
                        lambda a, b: (calls.append("replace"), real_replace(a, b)))
    atomic_write(tmp_path / "x", "data")
    assert calls[:2] == ["fsync", "replace"]


def test_a_link_at_the_destination_is_replaced_not_followed(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert target.read_text() == "keep me"
    assert not link.is_symlink() and link.read_text() == "new"


def test_the_temporary_name_is_never_an_existing_file_or_link(tmp_path, monkeypatch):
    # a planted link under the first name drawn is not written through: another name is drawn
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    names = iter(["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".x.json.aaaaaaaaaaaa.tmp").symlink_to(victim)
    atomic_write(tmp_path / "x.json", "new")
    assert victim.read_text() == "untouched"
    assert (tmp_path / "x.json").read_text() == "new"


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = atomic_write(tmp_path / "x", "data")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode='a' must be one of 'wb', 'w'"), \
            atomic_writer(tmp_path / "x", "a"):
        pass
