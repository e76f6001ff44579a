"""Pack the rows of benchmarks/tabular_build.py into the shipped table and measure how well it
discriminates (spread, seed noise, seed-to-seed and budget rank correlations).

    python benchmarks/tabular_pack.py --rows benchmarks/results/nb201_mnist1d/rows.jsonl \
        benchmarks/results/nb201_mnist1d/rows_fill.jsonl \
        --name nb201-mnist1d --out src/dnas/bench/data --md benchmarks/results/tabular_table.md

Writes ``<out>/<name>.csv`` (one line per training run, accuracies to 4 decimals) and
``<out>/<name>.json`` (recipe, operations, main budget, counts, coverage, the discrimination
numbers). Several rows files are merged (a run of one (cell, seed, epochs) appears once: the first
file's). A partial build packs into a partial table whose metadata says how many of the space's
unique cells it holds. Rows marked ``"origin": "fill"`` (cells found by a search and trained on
demand by ``benchmarks/tabular.py fill``, same recipe) are in the table but not in the
distribution statistics, which describe the build's uniform random sample of the space.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# benchmarks/mnist1d.py would shadow the mnist1d package for this script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

COLUMNS = ("arch", "seed", "epochs", "test_acc", "valid_acc", "test_loss", "valid_loss",
           "train_acc", "train_loss", "params", "flops", "seconds", "cpu_seconds")


def _noise(pairs: list[tuple[float, float]]) -> dict[str, float]:
    """Per-run seed noise from paired runs: rms (σ = rms(d)/√2) and robust (1.4826·MAD(d)/√2)."""
    d = [a - b for a, b in pairs]
    rms = math.sqrt(sum(x * x for x in d) / len(d) / 2)
    mad = statistics.median(abs(x - statistics.median(d)) for x in d)
    return {"rms": rms, "robust": 1.4826 * mad / math.sqrt(2), "pairs": len(d)}


def merge(files: list[Path]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows of every file, one per (cell, seed, epochs) (the first file's), and duplicates
    dropped per file."""
    from dnas.spaces import nb201

    rows: dict[tuple[str, int, int], dict[str, Any]] = {}
    dropped: dict[str, int] = {}
    for path in files:
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill (its job ran again)
            key = (nb201.to_string(nb201.canonical(r["arch"])), r["seed"], r["epochs"])
            if key in rows:
                dropped[str(path)] = dropped.get(str(path), 0) + 1
            else:
                rows[key] = r
    return list(rows.values()), dropped


def discrimination(rows: list[dict[str, Any]], main_epochs: int) -> dict[str, Any]:
    from scipy.stats import kendalltau, spearmanr

    from dnas.spaces import nb201

    key = {}
    for r in rows:
        if r.get("origin") == "fill":
            continue  # not part of the uniform sample
        key.setdefault((r["arch"], r["seed"], r["epochs"]), r)
    main = {a: r for (a, s, e), r in key.items() if s == 0 and e == main_epochs}
    # every training run at the main budget, per cell and seed
    by_seed: dict[int, dict[str, float]] = {}
    for (a, s, e), r in key.items():
        if e == main_epochs:
            by_seed.setdefault(s, {})[a] = 100 * r["test_acc"]
    other = {}
    for (a, s, e), r in key.items():
        if s == 0 and e != main_epochs:
            other.setdefault(e, {})[a] = r
    acc = sorted(100 * r["test_acc"] for r in main.values())
    n = len(acc)

    def q(p: float) -> float:
        return acc[min(n - 1, max(0, round(p * (n - 1))))]

    out: dict[str, Any] = {
        "cells": n, "best": acc[-1], "p99": q(0.99), "p95": q(0.95), "p90": q(0.90),
        "median": statistics.median(acc), "p10": q(0.10), "worst": acc[0],
    }
    named = {"all skip": ("skip_connect",) * 6, "all avg-pool": ("avg_pool_3x3",) * 6,
             "all conv 3x3": ("nor_conv_3x3",) * 6}
    out["known cells"] = {}
    for label, ops in named.items():
        s = nb201.to_string(nb201.canonical(ops))
        if s in main:
            out["known cells"][label] = 100 * main[s]["test_acc"]
    seeds = sorted(by_seed)
    # seed noise from every pair of seeds a cell was trained with (with k seeds a cell gives
    # k(k-1)/2 pairs; each difference has variance 2σ²)
    pairs = [(by_seed[s][a], by_seed[t][a]) for i, s in enumerate(seeds) for t in seeds[i + 1:]
             for a in by_seed[s] if a in by_seed[t] and a in main]
    if len(pairs) >= 3:
        out["seed noise (points)"] = _noise(pairs)
        out["seed noise (points)"]["cells"] = len(
            {a for s in seeds[1:] for a in by_seed[s] if a in main})
        out["seed noise (points)"]["seeds"] = len(seeds)
        above = [p for p in pairs if (p[0] + p[1]) / 2 >= out["median"]]
        if len(above) >= 3:
            out["seed noise above the median (points)"] = _noise(above)
        corr = []
        for i, s in enumerate(seeds):
            for t in seeds[i + 1:]:
                common = [a for a in by_seed[s] if a in by_seed[t]]
                if len(common) >= 3:
                    xs = [by_seed[s][a] for a in common]
                    ys = [by_seed[t][a] for a in common]
                    corr.append({"seeds": [s, t], "kendall": kendalltau(xs, ys)[0],
                                 "spearman": spearmanr(xs, ys)[0], "pairs": len(common)})
        out["seed-to-seed"] = corr
        sigma = out["seed noise (points)"]["rms"]
        out["gap median-to-best / seed noise (rms)"] = (out["best"] - out["median"]) / sigma
        # the table's noise ceiling: the cells one independent training run ranks best, scored
        # on the mean of the other seeds' runs (the table a search is scored on, less that run):
        # what a method that knew every cell's result of one run would get; averaged over
        # which seed is the ranking run
        full = [a for a in main if all(a in by_seed[s] for s in seeds)]
        ceiling: dict[str, Any] = {}
        if len(seeds) >= 2 and len(full) >= 10:
            for k in (1, 5, 10):
                regrets, pcts = [], []
                for s in seeds:
                    score = {a: statistics.fmean(by_seed[t][a] for t in seeds if t != s)
                             for a in full}
                    best = max(score.values())
                    dist = sorted(score.values())
                    ranked = sorted(full, key=lambda a: by_seed[s][a], reverse=True)[:k]
                    regrets += [best - score[a] for a in ranked]
                    pcts += [100 * sum(y <= score[a] for y in dist) / len(dist) for a in ranked]
                ceiling[f"top {k}"] = {"regret": statistics.fmean(regrets),
                                       "percentile": statistics.fmean(pcts)}
            out["ceiling (best by one seed, scored on the others)"] = {
                "cells": len(full), "seeds": len(seeds), **ceiling}
    # what the table answers: a row's mean over its seeds. Once every cell has k >= 2 seeds, the
    # spread of those means against the noise of a k-seed mean (σ/√k)
    runs: dict[str, list[float]] = {}
    for (a, _s, e), r in key.items():
        if e == main_epochs:
            runs.setdefault(a, []).append(100 * r["test_acc"])
    k = min(len(v) for v in runs.values()) if runs else 0
    if k >= 2 and "seed noise (points)" in out:
        means = sorted(statistics.fmean(v) for v in runs.values())
        sigma_k = out["seed noise (points)"]["rms"] / math.sqrt(k)
        m = len(means)
        out["mean over seeds"] = {
            "seeds": k, "cells": m, "best": means[-1],
            "p90": means[min(m - 1, round(0.9 * (m - 1)))], "median": statistics.median(means),
            "noise of the mean (rms)": sigma_k,
            "gap median-to-best / noise of the mean": (means[-1] - statistics.median(means))
            / sigma_k,
        }
    for e, rs in sorted(other.items()):
        common = [a for a in rs if a in main]
        if len(common) >= 3:
            xs = [rs[a]["test_acc"] for a in common]
            ys = [main[a]["test_acc"] for a in common]
            out[f"budget {e} vs {main_epochs} epochs"] = {
                "kendall": kendalltau(xs, ys)[0], "spearman": spearmanr(xs, ys)[0],
                "cells": len(common),
                "mean difference (points)": 100 * statistics.fmean(x - y for x, y in zip(xs, ys)),
            }
    return out


def markdown(stats: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Table `{meta['name']}`: {meta['cells']} of {meta['unique_cells']} unique cells "
        f"({'complete' if meta['complete'] else 'partial'}), {meta['rows']} training runs, main "
        f"budget {meta['epochs']} epochs; built {meta['date']} on {meta['machine']}.",
        "",
        f"Statistics below: the {stats['cells']} cells of the build's uniform random sample"
        + (f" (not the {meta['filled_cells']} cells trained on demand because a search found "
           "them)" if meta["filled_cells"] else "") + ".",
        "",
        "| test accuracy (%) | best | p99 | p95 | p90 | median | p10 | worst |",
        "|---|---|---|---|---|---|---|---|",
        "| | " + " | ".join(f"{stats[k]:.2f}" for k in
                            ("best", "p99", "p95", "p90", "median", "p10", "worst")) + " |",
        "",
    ]
    if stats["known cells"]:
        lines.append("Known cells: " + ", ".join(f"{k} {v:.2f}%" for k, v in
                                                 stats["known cells"].items()) + ".")
        lines.append("")
    if "seed noise (points)" in stats:
        s = stats["seed noise (points)"]
        lines.append(
            f"Seed noise (σ of one run, from {s['pairs']} pairs of runs of {s['cells']} cells "
            f"trained with 2 to {s['seeds']} seeds): "
            f"{s['rms']:.2f} points (rms), {s['robust']:.2f} (robust, from the median absolute "
            "difference)"
        )
        if "seed noise above the median (points)" in stats:
            a = stats["seed noise above the median (points)"]
            lines[-1] += f"; above the median {a['rms']:.2f} (rms), {a['robust']:.2f} (robust)"
        lines[-1] += "."
        lines.append("Seed-to-seed rank correlation: " + "; ".join(
            f"seeds {t['seeds'][0]} and {t['seeds'][1]} Kendall τ {t['kendall']:.3f}, Spearman ρ "
            f"{t['spearman']:.3f} ({t['pairs']} cells)" for t in stats["seed-to-seed"]) + ".")
        lines.append("Median-to-best gap / seed noise (rms): "
                     f"{stats['gap median-to-best / seed noise (rms)']:.1f}.")
    if "ceiling (best by one seed, scored on the others)" in stats:
        c = stats["ceiling (best by one seed, scored on the others)"]
        parts = [f"the {k[4:]} best by one run: regret {v['regret']:.2f} points, percentile "
                 f"{v['percentile']:.1f}" for k, v in c.items() if k.startswith("top ")]
        lines.append(f"Noise ceiling (the {c['cells']} cells with all {c['seeds']} seeds ranked "
                     "by one seed's run and scored on the mean of the other seeds', averaged over "
                     "the ranking seed): " + "; ".join(parts) + ".")
    if "mean over seeds" in stats:
        m = stats["mean over seeds"]
        lines.append(
            f"Every cell has at least {m['seeds']} seeds; a row is their mean: best "
            f"{m['best']:.2f}, p90 {m['p90']:.2f}, median {m['median']:.2f}; noise of a "
            f"{m['seeds']}-seed mean "
            f"{m['noise of the mean (rms)']:.2f} points (rms); median-to-best gap / that noise: "
            f"{m['gap median-to-best / noise of the mean']:.1f}.")
    for k, v in stats.items():
        if k.startswith("budget "):
            lines.append(f"Budget rank correlation ({k[7:]}): Kendall τ {v['kendall']:.3f}, "
                         f"Spearman ρ {v['spearman']:.3f} ({v['cells']} cells; mean test accuracy "
                         f"difference {v['mean difference (points)']:+.2f} points).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=Path, nargs="+", required=True,
                   help="JSON-lines files of tabular_build.py (and tabular.py fill)")
    p.add_argument("--name", default="nb201-mnist1d")
    p.add_argument("--out", type=Path, default=None, help="folder for <name>.csv and .json")
    p.add_argument("--md", type=Path, default=None, help="write the statistics as markdown")
    p.add_argument("--epochs", type=int, default=None, help="the main budget (default: the "
                   "recipe of the last row)")
    p.add_argument("--command", default="python benchmarks/tabular_build.py --ops 4 --workers 4 "
                   "--noise-cells 60 --budget-cells 40 --budget-epochs 10 --out ...")
    args = p.parse_args(argv)

    from dnas.spaces import nb201

    rows, dropped = merge(args.rows)
    recipe = dict(rows[-1]["meta"]["recipe"])  # the latest build's recipe names the main budget
    for r in rows:
        other = {**r["meta"]["recipe"], "epochs": recipe["epochs"]}
        if other != recipe:
            print(f"rows of another recipe ({r['meta']['recipe']}) than {recipe}: pack them into "
                  "another table", file=sys.stderr)
            return 2
    main_epochs = args.epochs or int(recipe["epochs"])
    recipe["epochs"] = main_epochs
    ops = nb201.OPS_4 if all("nor_conv_1x1" not in r["arch"] for r in rows) else nb201.OPS
    unique = len(nb201.unique_cells(ops))
    stats = discrimination(rows, main_epochs)
    held = {nb201.to_string(nb201.canonical(r["arch"])) for r in rows if r["seed"] == 0
            and r["epochs"] == main_epochs}
    filled = {r["arch"] for r in rows if r.get("origin") == "fill"}
    meta = {
        "name": args.name, "format": "dnas.bench.table", "version": 1, "space": "nb201",
        "ops": list(ops), "epochs": main_epochs, "recipe": recipe,
        "unique_cells": unique, "cells": len(held), "sample_cells": stats["cells"],
        "filled_cells": len(filled), "rows": len(rows), "duplicates_dropped": dropped,
        "complete": len(held) == unique, "command": args.command,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip()
        + f", torch {__import__('torch').__version__}, 1 thread per run",
        "date": time.strftime("%Y-%m-%d"), "discrimination": stats,
    }
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in sorted(rows, key=lambda r: (r["epochs"], r["seed"], r["arch"])):
            out = dict(r)
            for k in ("test_acc", "valid_acc", "train_acc"):
                out[k] = f"{r[k]:.4f}"
            for k in ("test_loss", "valid_loss", "train_loss"):
                out[k] = f"{r[k]:.4f}"
            w.writerow(out)
        (args.out / f"{args.name}.csv").write_text(buf.getvalue(), encoding="utf-8")
        (args.out / f"{args.name}.json").write_text(json.dumps(meta, indent=2) + "\n",
                                                    encoding="utf-8")
    text = markdown(stats, meta)
    if args.md:
        args.md.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
