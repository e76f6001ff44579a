"""Score every relaxation and robust method on the shipped NAS-Bench-201 table (MNIST-1D).

Each method searches the NAS-Bench-201 supernet (four operations: none, skip, conv 3x3, avg-pool;
1-D, the table's data) with 5 seeds under one budget counted in α steps, exports with the
benchmark's rule (argmax per edge, ``none`` included) or DARTS-PT's, and is scored by a table
look-up: mean ± std test accuracy of the found cells, their percentile, the regret to the table's
optimum, and the search time. Random search (best validation accuracy among k uniformly drawn
cells, looked up in the same table) is the sanity line.

The budget and learning-rate rule: every method gets ``--steps`` α steps (and as many weight
steps), batch 64, on the table's training part split 50/50 into w and α halves. The papers' presets
were tuned for 50 epochs of 391 steps on CIFAR-10 (19,550 α steps); with S steps every learning
rate of α is multiplied by 19,550 / S, so that Adam's total movement of α (≈ lr per step) matches
the paper's; warm-up epochs scale with the number of epochs.

    # searches (resumable: one JSON line per finished search), in the background
    nohup nice -n 5 python benchmarks/tabular.py run --out benchmarks/results/nb201_methods.jsonl &
    # the report: markdown table + plot, scored on the shipped table
    python benchmarks/tabular.py report --runs benchmarks/results/nb201_methods.jsonl \
        --md benchmarks/results/tabular.md --png benchmarks/results/tabular.png
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# benchmarks/mnist1d.py would shadow the mnist1d package for this script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

PAPER_STEPS = 50 * 391  # DARTS' CIFAR-10 search: 50 epochs of 391 α steps

#: name -> (relaxation, order, robust, select)
METHODS: dict[str, tuple[str, int, str | None, str]] = {
    "darts (1st)": ("darts", 1, None, "default"),
    "darts (2nd)": ("darts", 2, None, "default"),
    "fair-darts": ("fair-darts", 1, None, "default"),
    "drnas": ("drnas", 1, None, "default"),
    "gdas": ("gdas", 1, None, "default"),
    "proxyless": ("proxyless", 1, None, "default"),
    "binary": ("binary", 1, None, "default"),
    "binary-masked": ("binary-masked", 1, None, "default"),
    "moving-average": ("moving-average", 1, None, "default"),
    "pc-darts": ("pc-darts", 1, None, "default"),
    "beta-darts": ("darts", 1, "beta-darts", "default"),
    "darts-minus": ("darts", 1, "darts-minus", "default"),
    "sdarts-rs": ("darts", 1, "sdarts-rs", "default"),
    "sdarts-adv": ("darts", 1, "sdarts-adv", "default"),
    "darts-pt": ("darts", 1, None, "perturbation"),
    "drnas + beta": ("drnas", 1, "beta-darts", "default"),
    "drnas + pt": ("drnas", 1, None, "perturbation"),
}

#: CIFAR-10 test accuracy on NAS-Bench-201 as the papers report it (context only: another data set
#: and the 5-operation space). Optimum 94.37.
PAPER_CIFAR10 = {
    "darts (1st)": "54.30 ± 0.00 (Dong & Yang 2020)",
    "darts (2nd)": "54.30 ± 0.00 (Dong & Yang 2020)",
    "gdas": "93.61 ± 0.09 (Dong & Yang 2020)",
    "drnas": "94.36 ± 0.00 (Chen et al. 2021)",
    "beta-darts": "94.36 ± 0.00 (Ye et al. 2022)",
    "darts-minus": "93.80 ± 0.40 (Chu et al. 2021)",
    "random search": "93.70 ± 0.36 (Dong & Yang 2020)",
}


def search_config(name: str, steps: int, steps_per_epoch: int, seed: int) -> Any:
    """The method's paper preset under the budget rule (see the module docstring)."""
    from dnas.bilevel import SearchConfig

    method, order, robust, select = METHODS[name]
    epochs = max(1, round(steps / steps_per_epoch))
    base = SearchConfig.for_method(method)
    scale = PAPER_STEPS / (epochs * steps_per_epoch)
    return SearchConfig.for_method(
        method, order=order, epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=64,
        arch_lr=base.arch_lr * scale, w_lr=0.025, warmup_epochs=round(base.warmup_epochs / 50
                                                                       * epochs),
        robust=robust, select=select, seed=seed, device="cpu", progress=False,
    )


def run_one(name: str, seed: int, steps: int, C: int, N: int) -> dict[str, Any]:
    import torch

    import dnas
    from dnas.bench.recipe import Recipe
    from dnas.data.split import search_split
    from dnas.spaces import nb201

    torch.set_num_threads(1)
    recipe = Recipe()
    data = recipe.load_data()
    (Xw, yw), (Xa, ya) = search_split(data.X_train, data.y_train, fraction=0.5, seed=seed)
    steps_per_epoch = Xw.shape[0] // 64
    config = search_config(name, steps, steps_per_epoch, seed)
    partial = config.method_options.get("partial_channels", 1)
    torch.manual_seed(seed)
    net = nb201.search_network(C=C, N=N, num_classes=data.num_classes, dim=1,
                               ops=nb201.OPS_4, partial_channels=partial)
    wall, cpu = time.perf_counter(), time.process_time()
    result = dnas.search(net, (Xw, yw), (Xa, ya), config=config)
    arch = result.architecture
    return {
        "method": name, "seed": seed, "steps": config.epochs * steps_per_epoch,
        "arch": nb201.to_string(arch), "seconds": round(time.perf_counter() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "probabilities": arch.meta.get("probabilities"),
        "config": {k: v for k, v in config.to_dict().items() if k not in ("progress",)},
        "C": C, "N": N,
    }


def _run_job(job: tuple[str, int, int, int, int]) -> dict[str, Any]:
    try:
        return run_one(*job)
    except Exception as err:  # one failing search must not end the benchmark: it is reported
        return {"method": job[0], "seed": job[1], "error": f"{type(err).__name__}: {err}"}


def cmd_run(args: argparse.Namespace) -> int:
    import multiprocessing as mp

    done = set()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "error" not in r:  # a failed search runs again
                done.add((r["method"], r["seed"]))
    names = args.methods.split(",") if args.methods else list(METHODS)
    unknown = sorted(set(names) - set(METHODS))
    if unknown:
        print(f"unknown methods {unknown}; known: {list(METHODS)}", file=sys.stderr)
        return 2
    jobs = [(n, s, args.steps, args.C, args.N) for s in range(args.seeds) for n in names
            if (n, s) not in done]
    print(f"{len(done)} searches done, {len(jobs)} to run", flush=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.workers) as pool, open(args.out, "a", encoding="utf-8") as fh:
        for r in pool.imap_unordered(_run_job, jobs):
            fh.write(json.dumps(r) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if "error" in r:
                print(f"{r['method']} seed {r['seed']}: FAILED {r['error']}", flush=True)
            else:
                print(f"{r['method']} seed {r['seed']}: {r['arch']} ({r['cpu_seconds']} s cpu)",
                      flush=True)
    return 0


def _table(path: str | None):
    import dnas.bench

    return dnas.bench.load(path) if path else dnas.bench.load("nb201-mnist1d")


def random_search(table: Any, k: int, seeds: int) -> list[Any]:
    """Best-by-validation of ``k`` uniformly drawn cells, per seed (the table's entries)."""
    import random

    out = []
    for s in range(seeds):
        rng = random.Random(1000 + s)
        entries = [table.query(table.random(rng)) for _ in range(k)]
        out.append(max(entries, key=lambda e: (e.valid_acc, e.arch)))
    return out


def cmd_report(args: argparse.Namespace) -> int:
    table = _table(args.table)
    runs = [json.loads(line) for line in args.runs.read_text().splitlines() if line.strip()]
    failed = [r for r in runs if "error" in r]
    runs = [r for r in runs if "error" not in r]
    by_method: dict[str, list[dict]] = {}
    for r in runs:
        by_method.setdefault(r["method"], []).append(r)
    rows = []
    for name in [m for m in METHODS if m in by_method]:
        rs = sorted(by_method[name], key=lambda r: r["seed"])
        entries = [table.query(r["arch"]) for r in rs]
        rows.append(_summary(name, entries, [r["cpu_seconds"] for r in rs], rs))
    median_cpu = statistics.median(r["cpu_seconds"] for r in runs) if runs else 0
    per_row = statistics.median(e.train_seconds for e in table.entries())
    k_same = max(1, round(median_cpu / per_row)) if per_row else 1
    for k in sorted({1, k_same}):
        entries = random_search(table, k, args.rs_seeds)
        rows.append(_summary(f"random search (k={k})", entries, None, None))
    text = _markdown(table, rows, args, k_same)
    done = {(r["method"], r["seed"]) for r in runs}
    failed = sorted({(r["method"], r["seed"]) for r in failed} - done)
    if failed:
        text += "Searches that failed: " + ", ".join(f"{m} seed {s}" for m, s in failed) + "\n"
    if args.md:
        args.md.write_text(text, encoding="utf-8")
    print(text)
    if args.png:
        _plot(table, rows, args.png)
    return 0


def _summary(name, entries, cpu, runs) -> dict[str, Any]:
    acc = [100 * e.test_acc for e in entries]
    return {
        "name": name, "n": len(entries), "acc": acc,
        "mean": statistics.fmean(acc), "std": statistics.pstdev(acc) if len(acc) > 1 else 0.0,
        "pct": statistics.fmean(e.percentile for e in entries),
        "pct_min": min(e.percentile for e in entries),
        "regret": statistics.fmean(e.regret for e in entries),
        "top5": sum(e.percentile >= 95 for e in entries),
        "top1": sum(e.percentile >= 99 for e in entries),
        "cpu": statistics.fmean(cpu) if cpu else None,
        "archs": [e.arch for e in entries],
        "collapsed": sum(e.arch.count("nor_conv") == 0 for e in entries),
    }


def _markdown(table, rows, args, k_same) -> str:
    best = table.optimum()
    accs = sorted(100 * e.test_acc for e in table.entries())
    lines = [
        f"Table `{table.name}`: {len(table)} unique cells; optimum {100 * best.test_acc:.2f}% "
        f"({best.arch}); median {statistics.median(accs):.2f}%.",
        "",
        "| method | seeds | test acc (mean ± std) | percentile (mean, min) | regret | top-5% | "
        "top-1% | no conv (collapse) | search CPU s | CIFAR-10 in the papers |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cpu = f"{r['cpu']:.0f}" if r["cpu"] is not None else "–"
        paper = PAPER_CIFAR10.get(r["name"].split(" (k=")[0] if "random" not in r["name"]
                                  else "random search", "")
        lines.append(
            f"| {r['name']} | {r['n']} | {r['mean']:.2f} ± {r['std']:.2f} | {r['pct']:.1f}, "
            f"{r['pct_min']:.1f} | {r['regret']:.2f} | {r['top5']}/{r['n']} | {r['top1']}/{r['n']}"
            f" | {r['collapsed']}/{r['n']} | {cpu} | {paper} |"
        )
    lines += ["", f"Random search: best validation accuracy among k uniform draws; k={k_same} "
              "costs about the median search's CPU time in table rows.", ""]
    return "\n".join(lines)


def _plot(table, rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accs = [100 * e.test_acc for e in table.entries()]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    lo = min(min(r["acc"]) for r in rows) - 1
    ax.hist(accs, bins=80, range=(lo, max(accs) + 0.5), color="0.85", density=True,
            orientation="vertical", zorder=0)
    ax2 = ax.twinx()
    for i, r in enumerate(rows):
        ax2.scatter(r["acc"], [i] * len(r["acc"]), s=18, zorder=3)
        ax2.plot([r["mean"]], [i], "k|", ms=14, zorder=4)
    ax2.set_yticks(range(len(rows)), [r["name"] for r in rows])
    ax2.set_ylim(-1, len(rows))
    ax.set_yticks([])
    ax.axvline(100 * table.optimum().test_acc, color="k", lw=0.8, ls="--")
    ax.set_xlabel("test accuracy of the found cell (%), table distribution in grey")
    ax.set_xlim(lo, max(accs) + 0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--methods", default="", help="comma-separated subset of the method names")
    r.add_argument("--seeds", type=int, default=5)
    r.add_argument("--steps", type=int, default=1000, help="α steps per search")
    r.add_argument("-C", type=int, default=8)
    r.add_argument("-N", type=int, default=1, help="cells per stage of the supernet")
    r.add_argument("--workers", type=int, default=1)
    q = sub.add_parser("report")
    q.add_argument("--runs", type=Path, required=True)
    q.add_argument("--table", default=None, help="a table .csv (default: the shipped table)")
    q.add_argument("--rs-seeds", type=int, default=100)
    q.add_argument("--md", type=Path)
    q.add_argument("--png", type=Path)
    args = p.parse_args(argv)
    return cmd_run(args) if args.cmd == "run" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
