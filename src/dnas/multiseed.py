"""The multi-seed protocol: one search per seed, each architecture scored, mean ± std reported.

A single search says little: differentiable NAS is sensitive to its seed (Dong & Yang, 2020, report
every method over several runs; DARTS itself ran 4 searches and kept the best after a short
retrain, Liu et al., 2019, section 3.2). :func:`search_seeds` runs the searches (in parallel worker
processes when asked), then scores every found architecture

* by a look-up in a tabular benchmark (``table=``: a :class:`dnas.bench.Table` or its name), or
* by a short retrain (``score=``: any ``architecture -> float``, e.g. the validation accuracy of
  the fixed model after a few epochs), which is also DARTS' selection protocol,

and returns them with their mean ± std and the best one.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from dnas.arch.architecture import Architecture
from dnas.runtime.checks import ParameterError, check_float, check_int, check_seed


@dataclass
class SeedRun:
    """One seed's search: its architecture, the search's wall time, and its score."""

    seed: int
    architecture: Architecture
    seconds: float
    score: float | None = None
    entry: Any = None  # the table's entry when scored on a table


@dataclass
class SeedsResult:
    """What :func:`search_seeds` returns.

    Attributes
    ----------
    runs : list of SeedRun
        One per seed, in the order of ``seeds``.
    mean, std : float or None
        Of the scores (population standard deviation); None when nothing was scored.
    best : SeedRun
        The best run by validation accuracy: the table's ``valid_acc`` when scored on a table
        (never its test accuracy, which is the score reported), else the ``score`` callable's
        value; the first seed's when nothing was scored.
    """

    runs: list[SeedRun]
    mean: float | None = None
    std: float | None = None
    best: SeedRun | None = field(default=None)

    def summary(self) -> str:
        """One line per seed and the mean ± std, as ``dnas search --seeds`` prints them."""
        lines = []
        for r in self.runs:
            score = "" if r.score is None else f"  score {r.score:.4f}"
            extra = ""
            if r.entry is not None:
                extra = f"  percentile {r.entry.percentile:.1f}  regret {r.entry.regret:.2f}"
            lines.append(f"seed {r.seed}: {_arch_text(r.architecture)}{score}{extra}")
        if self.mean is not None:
            n = len(self.runs)
            lines.append(f"mean ± std over {n} seeds: {self.mean:.4f} ± {self.std:.4f}")
        if self.best is not None and self.mean is not None:
            lines.append(f"best: seed {self.best.seed}")
        return "\n".join(lines)


def _selection(run: SeedRun) -> float:
    """What picks the best run: validation accuracy, never the test score that is reported."""
    if run.entry is not None:
        return float(run.entry.valid_acc)
    return run.score if run.score is not None else -1.0


def _arch_text(arch: Architecture) -> str:
    try:
        from dnas.spaces.nb201 import to_string

        return to_string(arch)
    except (ValueError, TypeError):
        return repr(arch)


def _one(job: tuple) -> tuple[int, str, float]:
    import time

    import torch

    from dnas.bilevel.api import search

    build, train, valid, seed, options, threads = job
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)  # the model's initial weights
    model = build()
    start = time.perf_counter()
    result = search(model, train, valid, **{**options, "seed": seed})
    return seed, result.architecture.to_json(), time.perf_counter() - start


def search_seeds(
    build: Callable[[], nn.Module],
    train: Any,
    valid: Any,
    seeds: Sequence[int] = (0, 1, 2, 3),
    *,
    processes: int = 1,
    table: Any = None,
    score: Callable[[Architecture], float] | None = None,
    threads: int | None = None,
    **options: Any,
) -> SeedsResult:
    """Search once per seed and score the architectures found.

    Parameters
    ----------
    build : callable
        ``build() -> nn.Module``: a fresh search model (called once per seed, after seeding torch
        with the seed). With ``processes > 1`` it must be picklable (a module-level function or
        a ``functools.partial`` of one).
    train, valid
        As for :func:`dnas.search` (tensors travel to the worker processes).
    seeds : sequence of int
        One search per seed.
    processes : int
        Worker processes (spawned); 1 runs the searches here, one after another.
    table : dnas.bench.Table or str, optional
        Score each architecture by its mean test accuracy in this tabular benchmark.
    score : callable, optional
        ``score(architecture) -> float`` (higher is better), e.g. a short retrain's validation
        accuracy; used when no table is given.
    threads : int, optional
        torch threads per worker process.
    **options
        Passed to :func:`dnas.search` (``method=``, ``epochs=``, ``robust=``, ...); ``seed`` is
        set per run.
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ParameterError(f"seeds={seeds!r} must be a list of distinct integers")
    seeds = [int(check_seed("seeds", s)) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds!r} must be distinct integers, at least one")
    check_int("threads", threads, 1, none_ok=True)
    if score is not None and not callable(score):
        raise ParameterError(f"score={score!r} must be a callable architecture -> float")
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes={processes!r} must be a positive integer")
    if not callable(build):
        raise ValueError(f"build must be a callable returning the search model, got {build!r}")
    if "seed" in options:
        raise ValueError("pass seeds=[...], not seed=: every run gets its own seed")
    if isinstance(table, str):
        from dnas.bench.shipped import load

        table = load(table)
    if table is not None and not callable(getattr(table, "get", None)):
        raise ParameterError(f"table={table!r} must be a dnas.bench.Table or a table's name")
    jobs = [(build, train, valid, s, options, threads) for s in seeds]
    if processes == 1:
        outs = [_one(job) for job in jobs]
    else:
        with mp.get_context("spawn").Pool(min(processes, len(jobs))) as pool:
            outs = pool.map(_one, jobs, chunksize=1)
            pool.close()  # workers exit on their own (terminate() would leak their semaphores)
            pool.join()
    runs = [SeedRun(s, Architecture.from_json(text), seconds) for s, text, seconds in outs]
    for run in runs:
        if table is not None:
            run.entry = table.get(run.architecture)  # None: a partial table lacks the cell
            run.score = run.entry.test_acc if run.entry is not None else None
        elif score is not None:
            value = score(run.architecture)
            check_float("score(architecture)", value)  # a NaN would poison mean and best
            run.score = float(value)
    scored = [r.score for r in runs if r.score is not None]
    result = SeedsResult(runs)
    if scored:
        result.mean = statistics.fmean(scored)
        result.std = statistics.pstdev(scored) if len(scored) > 1 else 0.0
        result.best = max(runs, key=lambda r: (_selection(r), -r.seed))
    else:
        result.best = runs[0]
    return result


def retrain_scorer(
    build_fixed: Callable[[Architecture], nn.Module],
    train: tuple[Any, Any],
    valid: tuple[Any, Any],
    epochs: int = 5,
    **retrain_options: Any,
) -> Callable[[Architecture], float]:
    """DARTS' selection protocol: ``architecture -> validation accuracy after a short retrain``.

    Parameters
    ----------
    build_fixed : callable
        ``build_fixed(architecture) -> nn.Module``, the discrete model (e.g.
        ``functools.partial(dnas.spaces.darts.eval_network, C=16, layers=8, dim=1)``).
    train, valid : (X, y) tensors
        Training data and the held-out split the accuracy is measured on.
    epochs : int
        Training epochs of the short retrain.
    **retrain_options
        :class:`dnas.train.RetrainConfig` fields (``batch_size``, ``lr``, ``cutout``, ...).
    """
    from dnas.train.trainer import retrain

    def score(architecture: Architecture) -> float:
        model = build_fixed(architecture)
        return retrain(model, train, valid, epochs=epochs, progress=False,
                       **retrain_options).test_accuracy

    return score


__all__ = ["SeedRun", "SeedsResult", "retrain_scorer", "search_seeds"]
