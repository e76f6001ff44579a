"""``torchrun --nproc-per-node 2 -m dnas search``: two CPU processes (gloo), rank 0 alone writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch.distributed as dist

from dnas import Architecture


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")
@pytest.mark.slow  # a subprocess run: `make test-fast` leaves it out
def test_torchrun_two_processes_one_run_folder(tmp_path):
    src = str(Path(__file__).parents[2] / "src")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": src}
    argv = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "dnas", "search", "--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3",
        "--batch", "8", "--steps-per-epoch", "2", "--epochs", "1", "--device", "cpu",
        "--no-progress", "--cache-dir", str(tmp_path / "cache"),
    ]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("search finished") == 1  # rank 1 wrote and printed nothing
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    arch = Architecture.load(runs[0] / "architecture.json")
    assert arch.meta["data"] == "digits"
    assert (runs[0] / "checkpoints" / "last.pt").is_file()
