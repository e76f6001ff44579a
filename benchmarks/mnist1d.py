"""MNIST-1D end to end: a DARTS search + retrain of the found cell, next to random cells.

What it runs, all through the ``dnas`` command line (``python -m dnas``, the entry point users
call; each run in its own process):

1. ``dnas search`` on MNIST-1D with the 1-D DARTS cell space (first-order DARTS, seed 0);
2. ``dnas retrain`` of the found architecture for each training seed;
3. ``dnas retrain`` of ``--random`` architectures drawn by
   :func:`dnas.spaces.darts.random.random_architecture` (seeds 0, 1, ...), same recipe, same seeds.

Runs go to ``--workers`` processes with ``--threads`` torch threads each (on a loaded 2-core
machine, 2 one-thread processes beat one two-thread process by far; see the results file). Every
finished run is appended to ``<work>/runs.jsonl``; the Markdown report is rewritten (atomically)
after each run, so a cut-off benchmark still leaves its finished numbers.

Usage::

    python benchmarks/mnist1d.py --out benchmarks/results/mnist1d.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from dnas.arch.architecture import Architecture
from dnas.spaces.darts import to_genotype
from dnas.spaces.darts.random import random_architecture

#: Test accuracies reported by the MNIST-1D paper (Greydanus & Kobak, "Scaling down deep learning
#: with MNIST-1D", 2020/ICML 2024, table 1), on the same 4000/1000 split; not measured here.
PAPER_BASELINES = (("CNN", 0.94), ("GRU", 0.91), ("MLP", 0.68))


def _cli(args: list[str], log: Path) -> float:
    """Run ``python -m dnas <args>``, its output to ``log``; returns the wall time in seconds."""
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run([sys.executable, "-m", "dnas", *args], stdout=fh,
                              stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"dnas {' '.join(args)} failed ({proc.returncode}); see {log}")
    return seconds


class Bench:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.o = opts
        self.work = Path(opts.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        self.search: dict | None = None
        self.lock = threading.Lock()
        self.start = time.perf_counter()
        self.date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    def common(self) -> list[str]:
        o = self.o
        extra = ["--n-train", str(o.n_train)] if o.n_train else []
        return ["--threads", str(o.threads), "--device", "cpu", "--no-progress", *extra]

    def run_search(self) -> Path:
        o = self.o
        out = self.work / "search"
        args = ["search", "--data", "mnist1d", "--method", "darts", "--order", "1",
                "--channels", str(o.search_channels), "--layers", str(o.search_layers),
                "--epochs", str(o.search_epochs), "--batch", str(o.batch), "--seed", "0",
                "--arch-lr", str(o.arch_lr),
                "--out", str(out), *self.common()]
        seconds = _cli(args, self.work / "search.log")
        arch = Architecture.load(out / "architecture.json")
        with self.lock:
            self.search = {"seconds": seconds, "args": args, "genotype": to_genotype(arch)}
            self._save({"kind": "search", **self.search})
        return out / "architecture.json"

    def run_retrain(self, name: str, arch_path: Path, seed: int) -> None:
        o = self.o
        out = self.work / f"retrain-{name}-seed{seed}"
        args = ["retrain", "--arch", str(arch_path), "--data", "mnist1d",
                "--channels", str(o.channels), "--layers", str(o.layers),
                "--epochs", str(o.epochs), "--batch", str(o.batch), "--seed", str(seed),
                "--out", str(out), *self.common()]
        seconds = _cli(args, self.work / f"retrain-{name}-seed{seed}.log")
        res = json.loads((out / "results.json").read_text())
        row = {"kind": "retrain", "arch": name, "seed": seed, "seconds": seconds,
               "test_accuracy": res["test_accuracy"], "parameters": res["parameters"],
               "args": args}
        with self.lock:
            self.rows.append(row)
            self._save(row)

    def _save(self, record: dict) -> None:
        with (self.work / "runs.jsonl").open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(json.dumps({k: v for k, v in record.items() if k != "args"}), flush=True)
        self.write_report()

    # ------------------------------------------------------------------ report
    def write_report(self, done: bool = False) -> None:
        o = self.o
        names = ["found"] + [f"random{i}" for i in range(o.random)]
        lines = [
            "# MNIST-1D: DARTS search + retrain vs random cells (issue 3, must show (c))",
            "",
            f"- Machine: {platform.machine()} Linux, {os.cpu_count()} CPU cores shared with other "
            f"jobs (load average {os.getloadavg()[0]:.1f} at the last update), "
            f"torch {torch.__version__}, CPU only.",
            f"- Date: {self.date}. Status: "
            + ("complete." if done else "**in progress / partial**."),
            f"- Command: `{shlex.join(['python', 'benchmarks/mnist1d.py', *sys.argv[1:]])}`",
            f"- Runs: {o.workers} worker process(es) at a time, {o.threads} torch thread(s) each; "
            f"every run is a `python -m dnas ...` process (exact arguments below).",
            "- Data: MNIST-1D (`dnas.data.load('mnist1d')`, the `mnist1d` package's default "
            "generator, 4000 train / 1000 test, length 40, 10 classes).",
            f"- Search: first-order DARTS, C={o.search_channels}, {o.search_layers} cells, "
            f"{o.search_epochs} epochs, batch {o.batch}, Adam α lr {o.arch_lr}, training set "
            "split 50/50 into w / α halves, seed 0.",
            f"- Retrain (every architecture, same recipe): C={o.channels}, {o.layers} cells, "
            f"{o.epochs} epochs, batch {o.batch}, SGD lr 0.025 cosine to 0, momentum 0.9, "
            "weight decay 3e-4, auxiliary head (weight 0.4), drop path 0.2 ramped, random shift "
            "±4 (crop padding 4), no cutout, grad clip 5; test accuracy after the last epoch; "
            "training seeds 0, 1, 2 (weights, data order, augmentation).",
            f"- Random cells: `random_architecture(seed)` for seeds 0..{o.random - 1} (per node "
            "two distinct inputs among its predecessors, a uniform non-none op per chosen edge).",
            "",
        ]
        if self.search:
            s = self.search
            lines += [
                "## Search",
                "",
                f"Search wall time: **{s['seconds']:.0f} s**. Found cell (official genotype "
                f"notation): normal `{s['genotype']['normal']}`, reduce "
                f"`{s['genotype']['reduce']}`.",
                "",
                f"`python -m dnas {shlex.join(s['args'])}`",
                "",
            ]
        lines += ["## Test accuracy (%), per training seed", "",
                  "| architecture | params | " + " | ".join(f"seed {i}" for i in range(o.seeds))
                  + " | mean ± std | retrain wall s (mean) |",
                  "|---" * (o.seeds + 4) + "|"]
        pooled = []
        for name in names:
            rs = sorted((r for r in self.rows if r["arch"] == name), key=lambda r: r["seed"])
            if not rs:
                continue
            accs = [100 * r["test_accuracy"] for r in rs]
            if name != "found":
                pooled += accs
            cells = [f"{a:.1f}" for a in accs] + ["—"] * (o.seeds - len(accs))
            mean = statistics.mean(accs)
            std = statistics.stdev(accs) if len(accs) > 1 else float("nan")
            wall = statistics.mean(r["seconds"] for r in rs)
            lines.append(f"| {name} | {rs[0]['parameters']:,} | " + " | ".join(cells)
                         + f" | {mean:.1f} ± {std:.1f} | {wall:.0f} |")
        if len(pooled) > 1:
            lines.append(f"| random, pooled ({len(pooled)} runs) | |" + " |" * o.seeds
                         + f" {statistics.mean(pooled):.1f} ± {statistics.stdev(pooled):.1f} | |")
        lines += ["", "std: sample standard deviation over the training seeds.", "",
                  "## The MNIST-1D paper's baselines (their numbers, not measured here)", "",
                  "| model | test accuracy (%) |", "|---|---|"]
        lines += [f"| {m} | {100 * a:.0f} |" for m, a in PAPER_BASELINES]
        found = [r for r in self.rows if r["arch"] == "found"]
        if self.search and found:
            wall = self.search["seconds"] + statistics.mean(r["seconds"] for r in found)
            lines += ["", "## Wall time", "",
                      f"Search + one retrain of the found cell: {self.search['seconds']:.0f} s + "
                      f"{statistics.mean(r['seconds'] for r in found):.0f} s = **{wall:.0f} s** "
                      f"({wall / 60:.1f} min), each measured while up to {o.workers - 1} other "
                      "benchmark run(s) and other users' jobs shared the 2 cores."]
        whole = "Whole benchmark" if done else "Whole benchmark so far"
        lines += ["", f"{whole}: {time.perf_counter() - self.start:.0f} s.", "",
                  "## Exact retrain arguments", ""]
        for r in sorted(self.rows, key=lambda r: (names.index(r["arch"]), r["seed"])):
            lines.append(f"- `python -m dnas {shlex.join(r['args'])}`")
        out = Path(o.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, out)

    # ------------------------------------------------------------------ schedule
    def run(self) -> None:
        o = self.o
        paths = []
        for i in range(o.random):
            arch = random_architecture(i)
            arch.meta.update({"data": "mnist1d", "dim": 1})
            path = self.work / f"random{i}.json"
            arch.save(path)
            paths.append((f"random{i}", path))
        with ThreadPoolExecutor(o.workers) as pool:
            search = pool.submit(self.run_search)  # first in the queue: starts at once
            jobs = [pool.submit(self.run_retrain, name, path, seed)
                    for seed in range(o.seeds) for name, path in paths]
            found = search.result()
            jobs += [pool.submit(self.run_retrain, "found", found, seed)
                     for seed in range(o.seeds)]
            for job in jobs:
                job.result()
        self.write_report(done=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5, help="retrain epochs")
    p.add_argument("--channels", type=int, default=8, help="retrain initial channels C")
    p.add_argument("--layers", type=int, default=5, help="retrain cells")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--search-epochs", type=int, default=4)
    p.add_argument("--search-channels", type=int, default=8)
    p.add_argument("--search-layers", type=int, default=5)
    p.add_argument("--arch-lr", type=float, default=3e-3,
                   help="Adam learning rate of α (DARTS: 3e-4 over ~20k steps; a short search "
                   "needs more to move α at all)")
    p.add_argument("--seeds", type=int, default=3, help="training seeds per architecture")
    p.add_argument("--random", type=int, default=3, help="random architectures")
    p.add_argument("--workers", type=int, default=2, help="runs at a time")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--n-train", type=int, default=None,
                   help="use only the first N training samples (smoke tests)")
    p.add_argument("--work", default="runs/bench-mnist1d", help="folder for the run folders")
    p.add_argument("--out", default="benchmarks/results/mnist1d.md")
    opts = p.parse_args(argv)
    Bench(opts).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
