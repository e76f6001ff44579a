"""Small pieces shared by the subcommands: loading data by name, subsets, notes on stderr."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dnas.data.dataset import Dataset
from dnas.runtime.checkpoint import resolve_checkpoint
from dnas.runtime.checks import check_choice, check_int


def note(message: str) -> None:
    """One informational line on stderr (stdout stays for results)."""
    print(f"dnas: note: {message}", file=sys.stderr)


def check_data(resolved: Mapping[str, Any]) -> None:
    """A known dataset name, with the root folder it needs, or a user's existing file(s)."""
    from dnas.cli import own_data
    from dnas.data import DATASETS

    name = resolved.get("data")
    if own_data.is_file(name):
        own_data.check(resolved)
        return
    check_choice("data", name, DATASETS)
    if name == "cifar10" and resolved.get("data_root") is None:
        raise ValueError("data='cifar10' needs --data-root: the folder holding cifar-10-batches-py")


def load_data(resolved: Mapping[str, Any]) -> Dataset:
    """``dnas.data.load`` with the command's ``data``, ``data_root``, ``cache_dir`` and ``seed``."""
    from dnas.cli import own_data
    from dnas.data import load

    check_data(resolved)
    if own_data.is_file(resolved["data"]):
        return own_data.load(resolved)
    name = resolved["data"]
    return load(name, root=resolved.get("data_root"), cache_dir=resolved.get("cache_dir"),
                seed=resolved.get("seed") or 0)


def resume_source(resume: str | bool | None, out: str | None) -> tuple[Path, Path] | None:
    """``(run folder, checkpoint file)`` that ``--resume`` names, or None for a fresh run.

    ``--resume`` alone continues the run in ``--out``; with a path it names a run folder, its
    ``checkpoints/`` folder or a checkpoint file.
    """
    if not resume:
        return None
    if resume is True:
        if out is None:
            raise ValueError("--resume without a path needs --out (the run folder to continue)")
        resume = out
    ckpt = resolve_checkpoint(resume)
    run = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    return run, ckpt


def subset(X: torch.Tensor, y: torch.Tensor, n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` samples (all when ``n`` is None or larger than the set)."""
    if n is None or n >= X.shape[0]:
        return X, y
    return X[:n], y[:n]


def set_threads(n: int | None) -> None:
    """``torch.set_num_threads(n)`` when ``n`` is given (checked first)."""
    if n is None:
        return
    torch.set_num_threads(check_int("threads", n, 1))


def checkpoint_misfit(path: Any, err: BaseException, loop: str) -> str:
    """One line for a checkpoint that cannot continue this ``loop`` ("search", "retraining"):
    the checks' own message (:mod:`dnas.runtime.resume`) with the file named, else torch's."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if first.startswith("the checkpoint "):
        return f"checkpoint {str(path)!r} {first[len('the checkpoint '):]}"
    return f"checkpoint {str(path)!r} does not fit this {loop}: {first}"
