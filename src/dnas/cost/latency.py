"""A latency look-up table: each distinct fixed block timed once on a device, cached on disk.

As in ProxylessNAS (Cai et al., 2019, section 3.3) and FBNet (Wu et al., 2019, section 3.2), the
latency of an architecture is modelled as the sum of its blocks' latencies, each block measured
in isolation on the target device. An entry's key is the block's ``repr`` (layer types and
sizes), its input shapes and dtypes, the batch size, the device, the torch thread count and the
torch version; the value is the median over ``repeats`` timed calls after ``warmup`` calls, in
seconds. The table is a JSON file, rewritten atomically (temporary file, then rename) and merged
with what another process may have written meanwhile, so it is built once and then shared.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnas.cost.measures import CallList
from dnas.runtime import jsonio
from dnas.runtime.atomic import atomic_write
from dnas.runtime.checks import check_int

FORMAT = "dnas.latency"
VERSION = 1


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
        persist: bool = True,
    ) -> None:
        check_int("batch_size", batch_size, 1)
        check_int("repeats", repeats, 1)
        check_int("warmup", warmup, 0)
        self.path = Path(path) if path is not None else default_path()
        self.device = torch.device(device)
        self.batch_size, self.repeats, self.warmup = batch_size, repeats, warmup
        self.persist = persist
        self.entries: dict[str, dict[str, Any]] = self._read() if persist else {}
        self.measured = 0  # entries timed by this object (the rest came from the file)
        self._dirty = False

    # ------------------------------------------------------------------ file
    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
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
        entries = data.get("entries", {})
        return dict(entries) if isinstance(entries, dict) else {}

    def save(self) -> Path | None:
        """Write the table (merged with the file's current entries) atomically."""
        if not self.persist or not self._dirty:
            return None
        merged = self._read()
        merged.update(self.entries)
        self.entries = merged
        text = jsonio.dumps({"format": FORMAT, "version": VERSION, "entries": merged}, indent=1,
                            what="latency table")
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
        return hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:32]

    def time(self, module: nn.Module, args: tuple, kwargs: dict) -> float:
        """Median seconds of one call of ``module`` on a batch of ``batch_size`` (no caching)."""
        module = copy.deepcopy(module).to(self.device).eval()  # never move the caller's module
        args = _batched(args, self.batch_size, self.device)
        kwargs = _batched(kwargs, self.batch_size, self.device)
        cuda = self.device.type == "cuda"
        times = []
        with torch.inference_mode():
            for i in range(self.warmup + self.repeats):
                if cuda:
                    torch.cuda.synchronize(self.device)
                start = time.perf_counter()
                module(*args, **kwargs)
                if cuda:
                    torch.cuda.synchronize(self.device)
                if i >= self.warmup:
                    times.append(time.perf_counter() - start)
        return statistics.median(times)

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
                f"batch_size={self.batch_size}, entries={len(self)})")


__all__ = ["LatencyTable", "default_path"]
