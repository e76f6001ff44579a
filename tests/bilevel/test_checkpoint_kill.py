"""A search killed with SIGKILL and restarted with --resume ends exactly where an uninterrupted
run ends: same architecture, same final α and weights, bit for bit (CPU, same seed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dnas.cli.main import main
from dnas.runtime.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def _args(out: Path, cache: Path) -> list[str]:
    return [
        "search", "--data", "digits", "--n-train", "64", "-C", "4", "--layers", "3",
        "--batch", "8", "--steps-per-epoch", "2", "--epochs", "2", "--checkpoint-every", "1",
        "--seed", "3", "--device", "cpu", "--threads", "1", "--no-progress",
        "--cache-dir", str(cache), "--out", str(out),
    ]


@pytest.mark.slow  # a subprocess run: `make test-fast` leaves it out
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    cache = tmp_path / "cache"
    killed = tmp_path / "killed"
    src = str(Path(__file__).parents[2] / "src")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": src}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dnas", *_args(killed, cache)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    ckpt = killed / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    try:
        while not ckpt.exists():  # the first checkpoint lands after step 1 of 4
            if proc.poll() is not None:
                err = proc.stderr.read().decode()
                pytest.fail(f"search ended before it could be killed: {err}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint appeared within 120 s")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "architecture.json").exists()  # it really died mid-run
    state = load_checkpoint(ckpt)
    assert (state["epoch"], state["step"]) < (2, 0)

    # the uninterrupted reference, and the restart, both through the command line's main()
    reference = tmp_path / "reference"
    assert main(_args(reference, cache)) == 0
    restart = ["search", "--resume", "--out", str(killed), "--threads", "1", "--no-progress"]
    assert main(restart) == 0

    a = json.loads((reference / "architecture.json").read_text())
    b = json.loads((killed / "architecture.json").read_text())
    assert a["choices"] == b["choices"]
    assert a["meta"]["alpha"] == b["meta"]["alpha"]  # exact: JSON floats round-trip
    wa = load_checkpoint(reference)["model"]
    wb = load_checkpoint(killed)["model"]
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    assert (killed / "history.csv").read_text().count("\n") == 3  # header + 2 epochs
