"""Tables of the equation benchmark (``benchmarks/equations.py``) from its JSON lines.

``render(results, out)`` writes a Markdown report: per method and noise level the recovered
laws (SRBench's exact criterion), held-out R² in the box and in the extrapolation box, fit times
(CPU seconds of the fitting process and wall-clock seconds); the same restricted to the fits that
every method completed (the fair comparison while a run is partial); a row per law; every fit.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections import defaultdict
from datetime import datetime, timezone

import numpy as np


def load(path: str) -> list[dict]:
    with open(path) as fh:
        rows = [json.loads(ln) for ln in fh if ln.startswith("{")]
    latest = {}
    for r in rows:  # a rerun of a fit replaces the earlier line
        latest[(r["method"], r["law"], float(r["noise"]), int(r["seed"]))] = r
    return list(latest.values())


def _median(values: list[float]) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return statistics.median(values) if values else float("nan")


def _summary(rows: list[dict], methods: list[str], noises: list[float]) -> list[str]:
    out = ["| method | noise | fits | exact (fits) | laws exact on every seed run | "
           "median R² box | median R² extrapolation | median / max CPU s | median wall s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for m in methods:
        for nz in noises:
            rs = [r for r in rows if r["method"] == m and float(r["noise"]) == nz]
            if not rs:
                continue
            by_law = defaultdict(list)
            for r in rs:
                by_law[r["law"]].append(bool(r.get("exact")))
            every = sum(all(v) for v in by_law.values())
            cpu = [r.get("cpu_s", r["fit_s"]) for r in rs]
            out.append(
                f"| {m} | {nz:g} | {len(rs)} | {sum(bool(r.get('exact')) for r in rs)} "
                f"({100 * sum(bool(r.get('exact')) for r in rs) / len(rs):.0f}%) | "
                f"{every}/{len(by_law)} | {_median([r['r2'] for r in rs]):.4f} | "
                f"{_median([r.get('r2_extra') for r in rs]):.4f} | "
                f"{_median(cpu):.1f} / {max(cpu):.1f} | {_median([r['fit_s'] for r in rs]):.1f} |")
    return out


def recheck(rows: list[dict], cache_path: str) -> None:
    """The exact-recovery verdict of every row: the one the worker recorded (a check that timed
    out counts as not recovered), else the check run now; verdicts are cached by (method, law,
    model text). ``equations.py --recheck`` recomputes every verdict."""
    from equations import exact

    cache = {}
    if os.path.exists(cache_path):
        with open(cache_path) as fh:
            cache = json.load(fh)
    for r in rows:
        if not r.get("expr"):
            continue
        key = json.dumps([r["method"], r["law"], r["expr"]])
        if key not in cache and "exact" in r:
            # the worker's verdict (``--recheck`` recomputes it); None: its check timed out (60 s
            # of SymPy), which counts as not recovered
            cache[key] = bool(r["exact"])
        if key not in cache:
            try:
                cache[key] = exact(r["method"], r["expr"], r["law"])
            except Exception:  # an unparsable model is not a recovered law
                cache[key] = False
        r["exact"] = cache[key]
    tmp = f"{cache_path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        json.dump(cache, fh)
    os.replace(tmp, cache_path)


def render(results: str, out: str) -> None:
    rows = load(results)
    recheck(rows, os.path.splitext(results)[0] + ".exact.json")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    if "dnas" in methods:
        methods = ["dnas"] + [m for m in methods if m != "dnas"]
    noises = sorted({float(r["noise"]) for r in rows})
    laws = list(dict.fromkeys(r["law"] for r in rows))
    keys = defaultdict(set)
    for r in rows:
        keys[r["method"]].add((r["law"], float(r["noise"]), int(r["seed"])))
    common = set.intersection(*keys.values()) if keys else set()
    lines = [
        "# Equation discovery benchmark: dnas.DARTSRegressor and its peers",
        "",
        f"- rendered {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from `{results}`; machine: "
        f"{platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs (load average "
        f"{os.getloadavg()[1]:.0f} at rendering: wall times are many times the CPU times), one "
        "thread per fit where the method allows it",
        "- commands: `benchmarks/equations.py --methods operon,bms,gplearn,autora-darts "
        "--seeds 1 --noises 0,0.01` (the peers, seed 0), `benchmarks/equations.py --methods dnas "
        "--seeds 3 --noises 0` and `--seeds 1 --noises 0.01` (dnas, the current defaults), run in "
        "parts and the JSONL files merged (one line per method, law, noise, seed; when and how "
        "many fits at a time: benchmarks/RESULTS.md §5); definitions in the docstring of "
        "`benchmarks/equations.py`",
        "- exact: SRBench's criterion (constants rounded to 3 significant digits; model − law or "
        "model / law simplifies to a constant); R²: held-out, against the noise-free law; CPU s: "
        "the fitting process' CPU time (the fair time on a shared machine); wall s: elapsed",
        "",
        "## Fits every method completed (the comparison)",
        "",
        f"{len(common)} (law, noise, seed) fits done by all of {', '.join(methods)}.",
        "",
        *_summary([r for r in rows if (r["law"], float(r["noise"]), int(r["seed"])) in common],
                  methods, noises),
        "",
        "## Every fit so far, per method",
        "",
        *_summary(rows, methods, noises),
        "",
    ]
    for nz in noises:
        lines += [f"## Per law, noise {nz:g}", "",
                  "| law | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for law in laws:
            cells = []
            for m in methods:
                rs = [r for r in rows if r["method"] == m and r["law"] == law
                      and float(r["noise"]) == nz]
                if not rs:
                    cells.append("")
                    continue
                k = sum(bool(r.get("exact")) for r in rs)
                cells.append(f"{k}/{len(rs)}, R² {_median([r['r2'] for r in rs]):.4f}, "
                             f"{_median([r.get('cpu_s', r['fit_s']) for r in rs]):.0f} s")
            lines.append(f"| {law} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Every fit", "",
              "| method | law | noise | seed | exact | R² | R² extra | CPU s | wall s | model |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["law"], r["noise"], r["seed"], r["method"])):
        text = (r.get("expr") or r.get("error", ""))[:100].replace("|", "\\|")
        lines.append(
            f"| {r['method']} | {r['law']} | {float(r['noise']):g} | {r['seed']} | "
            f"{'yes' if r.get('exact') else 'no'} | {r['r2']:.4f} | "
            f"{(r.get('r2_extra') if r.get('r2_extra') is not None else float('nan')):.4f} | "
            f"{r.get('cpu_s', float('nan')):.1f} | {r['fit_s']:.1f} | `{text}` |")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")


__all__ = ["load", "render"]
