"""A latency look-up table: each distinct fixed block timed once on a device, cached on disk.

As in ProxylessNAS (Cai et al., 2019, section 3.3) and FBNet (Wu et al., 2019, section 3.2), the
latency of an architecture is modelled as the sum of its blocks' latencies, each block measured
in isolation on the target device. An entry's key is the block's ``repr`` (layer types and
sizes), its input shapes and dtypes, the batch size, the device, the torch thread count, the
torch version, and the clock and statistic unless wall-clock median (the first tables'); the
value is in seconds, of wall-clock time (``clock="wall"``) or of the process's CPU time
(``clock="process"``, CPU only: on a shared machine a call longer than the scheduler's time
slice waits for the other processes, and wall-clock time measures the load).

Each call is timed on its own. Other processes only ever add time — directly, or by evicting
the caches and sharing the memory bandwidth, which inflates even CPU time, by up to 3× on a
loaded 2-core machine — so the latency a dedicated device sees is best estimated by the
*fastest* call (``statistic="min"``, the default; timeit's advice), not the median, which
measures the load. Disturbances also come in spells of seconds, longer than any one entry's
timing, so an entry is the lowest over ``sweeps`` passes over the whole table
(:class:`~dnas.cost.CostModel` builds its tree once per sweep; an entry is re-timed on each).
The table is a JSON file, rewritten atomically (temporary file, then rename) and merged with
what another process may have written meanwhile, so it is built once and then shared.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnas.cost.measures import CallList
from dnas.runtime import jsonio
from dnas.runtime.atomic import atomic_write
from dnas.runtime.checks import check_choice, check_int
from dnas.runtime.device import resolve_device

FORMAT = "dnas.latency"
VERSION = 1


CLOCKS = ("wall", "process")
STATISTICS = ("min", "median")


def time_calls(
    fn: Callable[[], Any],
    repeats: int,
    warmup: int = 5,
    clock: str = "wall",
    device: torch.device | None = None,
    rounds: int = 1,
    statistic: str = "min",
) -> float:
    """Seconds per call of ``fn()`` under ``torch.inference_mode``, each call timed on its own:
    ``rounds`` rounds of ``repeats`` calls after ``warmup`` untimed ones; ``statistic="min"``
    the fastest call of all, ``"median"`` the lowest round median; ``clock`` as
    :class:`LatencyTable`'s (CUDA calls synchronised)."""
    check_choice("statistic", statistic, STATISTICS)
    now = time.perf_counter if clock == "wall" else time.process_time
    cuda = device is not None and device.type == "cuda"
    best = []
    with torch.inference_mode():
        for _ in range(rounds):
            times = []
            for i in range(warmup + repeats):
                if cuda:
                    torch.cuda.synchronize(device)
                start = now()
                fn()
                if cuda:
                    torch.cuda.synchronize(device)
                if i >= warmup:
                    times.append(now() - start)
            best.append(min(times) if statistic == "min" else statistics.median(times))
    return min(best)


def default_path() -> Path:
    """``$DNAS_DATA_DIR/latency.json``, else ``~/.cache/dnas/latency.json``."""
    from dnas.data.cache import cache_directory

    return cache_directory() / "latency.json"


def _describe(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return ["tensor", list(v.shape[1:]), str(v.dtype)]
    if isinstance(v, (list, tuple)):
        return [_describe(x) for x in v]
    if isinstance(v, dict):
        return {k: _describe(x) for k, x in sorted(v.items())}
    return repr(v)


def _batched(v: Any, batch: int, device: torch.device) -> Any:
    if isinstance(v, torch.Tensor):
        return v[:1].to(device).expand(batch, *v.shape[1:]).contiguous()
    if isinstance(v, (list, tuple)):
        return type(v)(_batched(x, batch, device) for x in v)
    if isinstance(v, dict):
        return {k: _batched(x, batch, device) for k, x in v.items()}
    return v


class LatencyTable:
    """Measured latency of fixed blocks on one device, cached in a JSON file.

    Parameters
    ----------
    path : path-like, optional
        The table file (default :func:`default_path`); ``None`` entries are kept in memory only
        when ``persist=False``.
    device : str or torch.device, default "cpu"
        Where blocks are timed.
    batch_size : int, default 1
        Batch size of the timed calls (the recorded inputs are one sample, repeated).
    repeats, warmup : int, default 30, 5
        Timed calls (median taken) and untimed calls before them.
    clock : {"wall", "process"}, default "wall"
        Wall-clock time, or the process's CPU time (CPU devices only; for shared machines).
    rounds : int, default 3
        Rounds of ``repeats`` calls, back to back.
    statistic : {"min", "median"}, default "min"
        The fastest call of all rounds, or the lowest round median.
    sweeps : int, default 3
        Passes over the whole table (:class:`~dnas.cost.CostModel` builds its tree once per
        sweep); an entry is the lowest of its sweeps, so a spell of load during one of them
        does not stay in the table.
    persist : bool, default True
        Read and write ``path``.

    Examples
    --------
    >>> table = LatencyTable(device="cpu")
    >>> cost = dnas.cost.CostModel(model, "latency", x, latency=table)  # doctest: +SKIP
    """

    needs_inputs = True
    unit = "seconds"

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 1,
        repeats: int = 30,
        warmup: int = 5,
        clock: str = "wall",
        rounds: int = 3,
        statistic: str = "min",
        sweeps: int = 3,
        persist: bool = True,
    ) -> None:
        check_int("batch_size", batch_size, 1)
        check_int("repeats", repeats, 1)
        check_int("warmup", warmup, 0)
        check_int("rounds", rounds, 1)
        check_int("sweeps", sweeps, 1)
        check_choice("clock", clock, CLOCKS)
        check_choice("statistic", statistic, STATISTICS)
        self.path = Path(path) if path is not None else default_path()
        try:  # the clock's check first: it holds on a machine without the device too
            kind = (resolve_device(device) if device == "auto" else torch.device(device)).type
        except (RuntimeError, TypeError):
            kind = None  # not a device name: resolve_device says so
        if clock == "process" and kind not in (None, "cpu"):
            raise ValueError(f"clock='process' measures CPU time; device={str(device)!r} "
                             "needs clock='wall'")
        self.device = resolve_device(device)
        self.batch_size, self.repeats, self.warmup = batch_size, repeats, warmup
        self.clock, self.rounds = clock, rounds
        self.statistic, self.sweeps = statistic, sweeps
        #: the sweep now running (:class:`~dnas.cost.CostModel` counts 1..sweeps); an entry
        #: timed in fewer sweeps than this is timed again and keeps its lowest value
        self.sweep = 1
        self.persist = persist
        self.entries: dict[str, dict[str, Any]] = {}
        #: whole-model calibrations (:mod:`dnas.cost.calibration`) by model signature
        self.calibrations: dict[str, dict[str, Any]] = {}
        if persist:
            self.entries, self.calibrations = self._read()
        self.measured = 0  # entries timed by this object (the rest came from the file)
        self._dirty = False

    # ------------------------------------------------------------------ file
    def _read(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        if not self.path.exists():
            return {}, {}
        try:  # strict, bounded JSON (dnas.runtime.jsonio)
            data = jsonio.read_json(self.path, what="latency table")
        except ValueError as err:
            raise ValueError(f"cannot read latency table {str(self.path)!r}: {err}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{str(self.path)!r} is not a dnas latency table")
        if data.get("version") != VERSION:
            raise ValueError(
                f"latency table {str(self.path)!r} has version {data.get('version')!r}; this "
                f"dnas reads version {VERSION}"
            )
        entries, calibrations = data.get("entries", {}), data.get("calibrations", {})
        return (dict(entries) if isinstance(entries, dict) else {},
                dict(calibrations) if isinstance(calibrations, dict) else {})

    def save(self) -> Path | None:
        """Write the table (merged with the file's current entries) atomically."""
        if not self.persist or not self._dirty:
            return None
        entries, calibrations = self._read()
        entries.update(self.entries)
        calibrations.update(self.calibrations)
        self.entries, self.calibrations = entries, calibrations
        text = jsonio.dumps({"format": FORMAT, "version": VERSION, "entries": entries,
                             "calibrations": calibrations}, indent=1, what="latency table")
        try:
            atomic_write(self.path, text + "\n")
        except OSError as err:
            raise ValueError(f"cannot write latency table {str(self.path)!r}: {err}") from None
        self._dirty = False
        return self.path

    # ------------------------------------------------------------------ timing
    def key(self, module: nn.Module, args: tuple, kwargs: dict) -> str:
        """The table key of ``module`` called with inputs shaped like ``args``/``kwargs``."""
        desc = [repr(module), _describe(args), _describe(kwargs), self.batch_size,
                str(self.device), torch.get_num_threads(), torch.__version__]
        if self.clock != "wall":
            desc.append(self.clock)
        if self.statistic != "median":  # keys of tables written before the statistic existed
            desc.append(self.statistic)
        return hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:32]

    def time(self, module: nn.Module, args: tuple, kwargs: dict) -> float:
        """Seconds of one call of ``module`` on a batch of ``batch_size`` (no caching)."""
        module = copy.deepcopy(module).to(self.device).eval()  # never move the caller's module
        args = _batched(args, self.batch_size, self.device)
        kwargs = _batched(kwargs, self.batch_size, self.device)
        return time_calls(lambda: module(*args, **kwargs), self.repeats, self.warmup,
                          self.clock, self.device, self.rounds, self.statistic)

    def time_networks(
        self, models: Sequence[nn.Module], example_input: torch.Tensor, passes: int = 5
    ) -> list[float]:
        """Seconds per call of each whole model, as the table times blocks (device, batch,
        clock, statistic), in ``passes`` interleaved passes over all of them: a spell of load
        lands on every model alike, and each model keeps its lowest pass.

        Used by the calibration (:mod:`dnas.cost.calibration`) and to check a found model."""
        check_int("passes", passes, 1)
        x = _batched(example_input[:1], self.batch_size, self.device)
        nets = [copy.deepcopy(m).to(self.device).eval() for m in models]
        best = [math.inf] * len(nets)
        for _ in range(passes):
            for i, net in enumerate(nets):
                t = time_calls(partial(net, x), self.repeats, self.warmup, self.clock,
                               self.device, 1, self.statistic)
                best[i] = min(best[i], t)
        return best

    def note_calibration(self, key: str, record: dict[str, Any]) -> None:
        """Remember a whole-model calibration (saved with the table)."""
        self.calibrations[key] = record
        self._dirty = True

    def __call__(self, module: nn.Module, calls: CallList) -> float:
        """Latency of ``module`` summed over its recorded calls (from the table, else timed)."""
        total = 0.0
        for args, kwargs in calls:
            k = self.key(module, args, kwargs)
            entry = self.entries.get(k)
            if entry is None:
                entry = {"seconds": self.time(module, args, kwargs), "sweeps": 1,
                         "module": repr(module).splitlines()[0][:80]}
                self.entries[k] = entry
                self.measured += 1
                self._dirty = True
            elif int(entry.get("sweeps", 1)) < min(self.sweep, self.sweeps):
                seconds = min(float(entry["seconds"]), self.time(module, args, kwargs))
                entry = {**entry, "seconds": seconds, "sweeps": int(entry.get("sweeps", 1)) + 1}
                self.entries[k] = entry
                self._dirty = True
            total += float(entry["seconds"])
        return total

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (f"LatencyTable({str(self.path)!r}, device={str(self.device)!r}, "
                f"batch_size={self.batch_size}, clock={self.clock!r}, "
                f"statistic={self.statistic!r}, entries={len(self)})")


__all__ = ["CLOCKS", "STATISTICS", "LatencyTable", "default_path", "time_calls"]
