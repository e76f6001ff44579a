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


def test_an_output_folder_refuses_links_below_it(tmp_path):
    victim = tmp_path / "victim.csv"
    victim.write_text("precious")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "history.csv").symlink_to(victim)
    (run / "tb").symlink_to(tmp_path, target_is_directory=True)
    with atomic.output_folder(run):
        with pytest.raises(ValueError, match=r"refusing to write .*history\.csv'.*is a symbolic "
                           r"link \(to .*victim\.csv'\) inside the output folder"):
            atomic_write(run / "history.csv", "new")
        with pytest.raises(ValueError, match=r"tb' is a symbolic link"):
            atomic_write(run / "tb" / "events", "new")
        atomic_write(run / "checkpoints" / "last.pt", b"ok")  # plain folders are fine
    assert victim.read_text() == "precious"
    atomic_write(run / "history.csv", "new")  # outside the block: the link is replaced
    assert victim.read_text() == "precious" and not (run / "history.csv").is_symlink()


def test_the_output_folder_itself_may_be_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "named").symlink_to(real, target_is_directory=True)
    with atomic.output_folder(tmp_path / "named"):
        atomic_write(tmp_path / "named" / "config.yaml", "a: 1\n")
    assert (real / "config.yaml").read_text() == "a: 1\n"


def test_stale_temporaries_are_removed_on_entry_and_nothing_else(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    stale = [run / ".history.csv.0123456789ab.tmp",
             run / "checkpoints" / ".last.pt.a1b2c3d4e5f6.tmp"]
    for p in stale:
        p.write_bytes(b"half")
    (run / ".config.yaml.ffffffffffff.tmp").symlink_to(victim)
    kept = [run / "notes.tmp", run / ".hidden", run / ".x.12345.tmp",
            run / "checkpoints" / "last.pt"]
    for p in kept:
        p.write_text("mine")
    with atomic.output_folder(run):
        pass
    assert not any(p.exists() for p in stale)
    assert not (run / ".config.yaml.ffffffffffff.tmp").is_symlink()
    assert victim.read_text() == "precious"
    assert all(p.read_text() == "mine" for p in kept)


def test_a_folder_or_a_file_on_the_way_is_named(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot write '.*run': it is a folder"):
        atomic_write(tmp_path / "run", b"x")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OSError, match=r"cannot create the folder '.*plain' to write '.*plain/a"):
        atomic_write(tmp_path / "plain" / "a.json", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "run"]  # no debris
