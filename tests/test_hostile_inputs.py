"""Hostile files through every entry point that reads a pickle or YAML: the payload (a command
that creates a marker file) never runs, and each refusal is one clear error.

Covered: checkpoints (``load_checkpoint`` and ``dnas search --resume``), CIFAR-10 batch files
(``dnas search --data cifar10``), the MNIST-1D cache, a user's ``.npy`` / ``.npz`` data with
pickled objects, and YAML configs with Python tags. The data tests hold further cases of their
loaders (``tests/data``); JSON inputs (architectures, latency tables) cannot carry code and are
bounded by ``tests/runtime/test_jsonio.py``.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import warnings

import numpy as np
import pytest

from dnas.cli.main import main
from dnas.data import load as load_data
from dnas.runtime.checkpoint import load_checkpoint

TINY = ["--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3", "--batch", "8",
        "--epochs", "1", "--device", "cpu", "--no-progress", "--threads", "1"]


class _RunsShell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _payload(marker, wrap=lambda evil: {"model": evil}, protocol=2) -> bytes:
    data = pickle.dumps(wrap(_RunsShell(f"touch {marker}")), protocol=protocol)
    return data


def test_the_payload_is_live(tmp_path):
    marker = tmp_path / "pwned"
    pickle.loads(_payload(marker))  # what a plain unpickler does
    assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_checkpoints_never_run_code(tmp_path, capsys, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(_payload(marker, protocol=protocol))
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_checkpoint(path)
    run = tmp_path / "run" / "checkpoints"
    run.mkdir(parents=True)
    shutil.copy(path, run / "last.pt")
    assert main(["search", "--resume", str(tmp_path / "run"), *TINY]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err
    assert not marker.exists()


def test_cifar_batches_never_run_code(tmp_path, capsys):
    marker = tmp_path / "pwned"
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    payload = _payload(marker, wrap=lambda evil: {"data": evil, "labels": [0]})
    for name in ["batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        (root / name).write_bytes(payload)
    code = main(["search", "--data", "cifar10", "--data-root", str(tmp_path), "--out",
                 str(tmp_path / "run"), "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "refusing to load" in err, err
    assert not marker.exists()


def test_a_pickled_mnist1d_cache_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    cache = tmp_path / "cache"
    load_data("mnist1d", cache_dir=cache, num_samples=200)
    [cached] = list(cache.rglob("*.npz"))
    cached.write_bytes(_payload(marker))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_data("mnist1d", cache_dir=cache, num_samples=200)
    assert any("regenerating it" in str(w.message) for w in caught)
    assert data.X_train.shape[0] == 160 and not marker.exists()


def test_user_arrays_with_pickled_objects_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    X = np.empty(8, dtype=object)
    X[:] = [_RunsShell(f"touch {marker}")] * 8
    np.save(tmp_path / "X.npy", X, allow_pickle=True)
    np.save(tmp_path / "y.npy", np.arange(8) % 2)
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=np.arange(8) % 2)
    (tmp_path / "d.npz").write_bytes(buffer.getvalue())
    for source in (f"{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}", tmp_path / "d.npz"):
        with pytest.raises(ValueError, match="Python objects"):
            load_data(source)
    assert not marker.exists()


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {m}']",
        "!!python/object/new:os.system ['touch {m}']",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:__main__.X {{}}",
    ],
)
def test_yaml_configs_never_build_python_objects(tmp_path, capsys, tag):
    marker = tmp_path / "pwned"
    config = tmp_path / "c.yaml"
    config.write_text(f"w_lr: {tag.format(m=marker)}\n")
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "run"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not valid YAML" in err, err
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_yaml_bombs_and_deep_nesting_are_one_error(tmp_path, capsys):
    laughs = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
    ) + "method_options: {bomb: *i}\n"
    inside = "method_options:\n  a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"  {n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
    )
    deep = "w_lr: " + "[" * 100_000 + "]" * 100_000 + "\n"
    for text, needle in ((laughs, "unknown option(s)"), (inside, "nested deeper than 4 levels"),
                         (deep, "nested too deeply"),
                         ("w_lr: 0.1\n" * 200_000, "larger than 1,048,576 bytes")):
        config = tmp_path / "c.yaml"
        config.write_text(text)
        assert main(["search", "--config", str(config), *TINY]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
