"""A latency look-up table: each distinct fixed block timed once on a device, cached on disk.

As in ProxylessNAS (Cai et al., 2019, section 3.3) and FBNet (Wu et al., 2019, section 3.2), the
latency of an architecture is modelled as the sum of its blocks' latencies, each block measured
in isolation on the target device. An entry's key is the block's ``repr`` (layer types and
sizes), its input shapes and dtypes, the batch size, the device, the torch thread count and the
torch version; the value is the median over ``repeats`` timed calls after ``warmup`` calls, in
seconds — of wall-clock time (``clock="wall"``, the latency a dedicated device sees) or of the
process's CPU time (``clock="process"``, CPU only: on a shared machine a call longer than the
scheduler's time slice waits for the other processes, and wall-clock time measures the load).
The table is a JSON file, rewritten atomically (temporary file, then rename) and merged with
what another process may have written meanwhile, so it is built once and then shared.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnas.cost.measures import CallList
from dnas.runtime import jsonio
from dnas.runtime.atomic import atomic_write
from dnas.runtime.checks import check_choice, check_int

FORMAT = "dnas.latency"
VERSION = 1


CLOCKS = ("wall", "process")


def time_calls(
    fn: Callable[[], Any],
    repeats: int,
    warmup: int = 5,
    clock: str = "wall",
    device: torch.device | None = None,
    rounds: int = 1,
) -> float:
    """Seconds per call of ``fn()``: the lowest of ``rounds`` medians, each over ``repeats`` calls
    after ``warmup`` untimed ones, under ``torch.inference_mode``; ``clock`` as
    :class:`LatencyTable`'s (CUDA calls synchronised). Other processes only ever add time, so the
    lowest median is the least disturbed one."""
    now = time.perf_counter if clock == "wall" else time.process_time
    cuda = device is not None and device.type == "cuda"
    medians = []
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
            medians.append(statistics.median(times))
    return min(medians)


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
        Rounds of ``repeats`` calls; an entry is the lowest round median.
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
        persist: bool = True,
    ) -> None:
        check_int("batch_size", batch_size, 1)
        check_int("repeats", repeats, 1)
        check_int("warmup", warmup, 0)
        check_int("rounds", rounds, 1)
        check_choice("clock", clock, CLOCKS)
        self.path = Path(path) if path is not None else default_path()
        self.device = torch.device(device)
        if clock == "process" and self.device.type != "cpu":
            raise ValueError(f"clock='process' measures CPU time; device={str(self.device)!r} "
                             "needs clock='wall'")
        self.batch_size, self.repeats, self.warmup = batch_size, repeats, warmup
        self.clock, self.rounds = clock, rounds
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
        return hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:32]

    def time(self, module: nn.Module, args: tuple, kwargs: dict) -> float:
        """Seconds of one call of ``module`` on a batch of ``batch_size`` (no caching)."""
        module = copy.deepcopy(module).to(self.device).eval()  # never move the caller's module
        args = _batched(args, self.batch_size, self.device)
        kwargs = _batched(kwargs, self.batch_size, self.device)
        return time_calls(lambda: module(*args, **kwargs), self.repeats, self.warmup,
                          self.clock, self.device, self.rounds)

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
                entry = {"seconds": self.time(module, args, kwargs),
                         "module": repr(module).splitlines()[0][:80]}
                self.entries[k] = entry
                self.measured += 1
                self._dirty = True
            total += float(entry["seconds"])
        return total

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (f"LatencyTable({str(self.path)!r}, device={str(self.device)!r}, "
                f"batch_size={self.batch_size}, clock={self.clock!r}, entries={len(self)})")


__all__ = ["CLOCKS", "LatencyTable", "default_path", "time_calls"]
