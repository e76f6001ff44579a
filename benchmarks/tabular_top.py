"""The top of the shipped table re-run with more training seeds: can the table rank its best
cells, and what are the found cells' regrets against a better-measured optimum?

A row of the shipped table is the mean of three training runs (noise ≈ 1.7 points), so a regret
of 0.2 points to its optimum asks a search to find the best of ~1,000 noisy means. This script
reads extra training runs (``tabular_build.py --cells FILE --seeds 3,...``) of

* the table's top cells (the cells with the most extra seeds),
* a control: cells drawn at random from the rest of the table (``--control``), which measures
  what the extra seeds change by themselves (a training seed moves every cell alike: the same
  data order and the same initial weights per layer name),
* the cells DARTS' protocol picked (``tabular.py report``'s best of 4 by validation),

and reports the top re-ranked, the table-minus-fresh drop of the top against the control's (the
winner's curse is their difference), Kendall τ between the table's and the fresh ranking, and
every method's protocol picks scored on the seeds all those cells share, with their regret to the
best of the top on those seeds and to an optimum with the luck held out (picked on the other
extra seeds).

Usage::

    python benchmarks/tabular_top.py --rows benchmarks/results/nb201_mnist1d/rows_top40.jsonl \\
        benchmarks/results/nb201_mnist1d/rows_control16.jsonl \\
        benchmarks/results/nb201_mnist1d/rows_picks.jsonl \\
        --control benchmarks/results/nb201_mnist1d/control16.txt \\
        --runs benchmarks/results/nb201_methods*.jsonl --md benchmarks/results/tabular_top.md
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def _mean_se(xs: list[float]) -> tuple[float, float]:
    m = statistics.fmean(xs)
    se = statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else float("nan")
    return m, se


def _kendall(a: list[float], b: list[float]) -> float:
    """Kendall's τ-a of two paired lists."""
    sign = lambda v: (v > 0) - (v < 0)  # noqa: E731
    n = len(a)
    s = sum(sign(a[i] - a[j]) * sign(b[i] - b[j]) for i in range(n) for j in range(i + 1, n))
    return 2 * s / (n * (n - 1)) if n > 1 else float("nan")


def load_rows(table_csv: Path, extra: list[Path], epochs: int) -> dict[str, dict[int, dict]]:
    """``{arch: {seed: row}}`` of the shipped table's runs at ``epochs`` plus the extra runs."""
    import csv

    from dnas.spaces import nb201

    cells: dict[str, dict[int, dict]] = {}
    with open(table_csv, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if int(r["epochs"]) == epochs:
                cells.setdefault(r["arch"], {})[int(r["seed"])] = {
                    "test_acc": float(r["test_acc"]), "valid_acc": float(r["valid_acc"])}
    for path in extra:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if r["epochs"] != epochs:
                continue
            arch = nb201.to_string(nb201.canonical(nb201.from_string(r["arch"])))
            if arch not in cells:
                raise SystemExit(f"{path}: {arch} is not a cell of the table")
            cells[arch].setdefault(int(r["seed"]), {"test_acc": r["test_acc"],
                                                    "valid_acc": r["valid_acc"]})
    return cells


def analyse(cells: dict[str, dict[int, dict]], runs: list[dict[str, Any]],
            table_seeds: tuple[int, ...] = (0, 1, 2),
            control: list[str] | None = None) -> dict[str, Any]:
    """Everything :func:`markdown` reports (see the module docstring)."""
    from dnas.spaces import nb201

    def acc(arch: str, seeds: Any, key: str = "test_acc") -> list[float]:
        return [100 * cells[arch][s][key] for s in seeds if s in cells[arch]]

    def mean(arch: str, seeds: Any) -> float:
        return statistics.fmean(acc(arch, seeds))

    table = {a: mean(a, table_seeds) for a in cells}
    valid = {a: statistics.fmean(acc(a, table_seeds, "valid_acc")) for a in cells}
    extra_of = {a: sorted(set(cells[a]) - set(table_seeds)) for a in cells}
    most = max(len(v) for v in extra_of.values())
    if not most:
        raise SystemExit("no cell has extra seeds")
    # the re-measured top: the cells with the most extra seeds
    top = [a for a in cells if len(extra_of[a]) == most]
    extra = extra_of[top[0]]
    rank = {a: i + 1 for i, a in enumerate(sorted(table, key=lambda a: -table[a]))}

    found: dict[str, list[tuple[int, str]]] = {}
    for r in runs:
        if "error" not in r:
            arch = nb201.to_string(nb201.canonical(nb201.from_string(r["arch"])))
            if arch in cells:
                found.setdefault(r["method"], []).append((r["seed"], arch))
    # DARTS' protocol (`tabular.py report`'s rule): 4 searches, the cell with the best table
    # validation accuracy kept, on seed groups 0-3, 4-7, ...
    from tabular import seed_groups

    protocol: dict[str, list[str]] = {}
    for name, rs in found.items():
        groups = seed_groups(dict(rs))
        if len(groups) >= 2:
            protocol[name] = [max(g, key=lambda a: valid[a]) for g in groups]
    # a training seed moves every cell alike (same data order, same initial weights per layer
    # name), so cells are compared on one set of seeds: those the top and every re-run
    # protocol pick have
    rerun = {a for picks in protocol.values() for a in picks if extra_of[a]} | set(top)
    score_seeds = sorted(set(extra).intersection(*(extra_of[a] for a in rerun)))
    if not score_seeds:
        raise SystemExit("the re-run cells share no extra seed")
    pick_seeds = sorted(set(extra) - set(score_seeds))
    fresh = {a: _mean_se(acc(a, score_seeds)) for a in rerun}
    fresh_all = {a: _mean_se(acc(a, extra)) for a in top}

    # the winner's curse: the table's top re-run, against random cells re-run with the same
    # seeds (their difference is the seeds' own effect, not selection)
    control_seeds = sorted({s for a in control or [] for s in extra_of[a]})
    by_table = sorted(top, key=lambda a: -table[a])
    curse = {k: statistics.fmean(table[a] - fresh_all[a][0] for a in by_table[:k])
             for k in (1, 10, len(top))}
    shift = None
    if control and control_seeds and all(set(control_seeds) <= set(extra_of[a]) for a in top):
        ds = [table[a] - mean(a, control_seeds) for a in control if extra_of[a]]
        top_ds = [table[a] - mean(a, control_seeds) for a in top]
        if len(ds) > 1:
            shift = {"seeds": control_seeds, "n": len(ds), "control": _mean_se(ds),
                     "top": _mean_se(top_ds)}
    tau = _kendall([table[a] for a in top], [fresh_all[a][0] for a in top])

    # the optimum: the best of the top by its mean on the score seeds (lucky: the largest of
    # many noisy means), and with the luck held out (picked on the other extra seeds, scored on
    # the score seeds)
    best_scored = max(top, key=lambda a: fresh[a][0])
    held = max(top, key=lambda a: mean(a, pick_seeds)) if pick_seeds else best_scored
    optimum_held = fresh[held][0]

    def score(arch: str) -> tuple[float, bool]:
        return (fresh[arch][0], True) if arch in fresh else (table[arch], False)

    methods = []
    for name, archs in protocol.items():
        s = [score(a) for a in archs]
        vals = [v for v, _ in s]
        methods.append({
            "method": name, "kind": "best of 4 by validation", "n": len(archs),
            "mean": statistics.fmean(vals), "std": statistics.pstdev(vals),
            "remeasured": sum(f for _, f in s),
            "regret_best": fresh[best_scored][0] - statistics.fmean(vals),
            "regret_held": optimum_held - statistics.fmean(vals),
            "table_regret": max(table.values()) - statistics.fmean(table[a] for a in archs),
            "archs": archs,
        })
    return {"top": top, "extra": extra, "table": table, "fresh": fresh, "fresh_all": fresh_all,
            "rank": rank, "curse": curse, "tau": tau, "shift": shift,
            "score_seeds": score_seeds, "pick_seeds": pick_seeds, "best_scored": best_scored,
            "held": held, "optimum_held": optimum_held, "methods": methods, "found": found,
            "all_mean": {a: mean(a, set(table_seeds) | set(extra)) for a in top}}


def _seeds(seeds: list[int]) -> str:
    return (f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1))
            and len(seeds) > 2 else ", ".join(map(str, seeds)))


def markdown(res: dict[str, Any]) -> str:
    """The report of :func:`analyse` in Markdown."""
    top, fresh_all, table, rank = res["top"], res["fresh_all"], res["table"], res["rank"]
    extra, fresh = res["extra"], res["fresh"]
    times: dict[str, int] = {}
    for rs in res["found"].values():
        for _, a in rs:
            times[a] = times.get(a, 0) + 1
    out = [f"The table's top {len(top)} cells re-run with {len(extra)} more training seeds "
           f"({_seeds(extra)}); the table's rows are means of seeds 0-2.\n",
           "| # by fresh mean | cell | table rank | table mean (3 seeds) | fresh mean ± se "
           f"({len(extra)} seeds) | all {len(extra) + 3} seeds | found by searches |",
           "|---|---|---|---|---|---|---|"]
    for i, a in enumerate(sorted(top, key=lambda a: -fresh_all[a][0]), start=1):
        m, se = fresh_all[a]
        out.append(f"| {i} | `{a}` | {rank[a]} | {table[a]:.2f} | {m:.2f} ± {se:.2f} | "
                   f"{res['all_mean'][a]:.2f} | {times.get(a, 0) or ''} |")
    c, shift = res["curse"], res["shift"]
    out += ["", f"Table mean − fresh mean: top 1 {c[1]:+.2f}, top 10 {c[10]:+.2f}, all "
            f"{len(top)} {c[len(top)]:+.2f} points. Kendall τ between the table's and the fresh "
            f"ranking of these {len(top)} cells: {res['tau']:.2f}."]
    if shift:
        (cm, cse), (tm, tse) = shift["control"], shift["top"]
        out[-1] += (f" On seeds {_seeds(shift['seeds'])}, {shift['n']} cells drawn at random "
                    f"from the rest of the table drop by {cm:+.2f} ± {cse:.2f} (se) — the "
                    f"seeds' own effect — and the top {len(top)} by {tm:+.2f} ± {tse:.2f}: "
                    f"the winner's curse of the top is the difference, {tm - cm:+.2f}.")
    best, held = res["best_scored"], res["held"]
    ss = _seeds(res["score_seeds"])
    out += ["", f"Scores below are means over seeds {ss}, the seeds every re-run cell has. "
            f"Optimum: the best of the top {len(top)} on these seeds {fresh[best][0]:.2f} "
            f"(table rank {rank[best]}; the largest of {len(top)} noisy means); with the luck "
            f"held out — picked on seeds {_seeds(res['pick_seeds'])}, scored on {ss} — "
            f"{res['optimum_held']:.2f} (table rank {rank[held]}).", "",
            "DARTS' protocol (best of 4 searches by the table's validation accuracy, seed "
            "groups 0-3, 4-7, …; `tabular.py report`'s rows) scored on the same seeds where its "
            "cells were re-run (else on the table's 3-seed mean, which carries other seeds' "
            "effect: compare rows by their re-run share); regret to both optima, beside the "
            "regret the table reports:", "",
            "| method | rule | n | test acc (mean ± std) | re-run | regret (best on these "
            "seeds) | regret (held-out optimum) | table regret |",
            "|---|---|---|---|---|---|---|---|"]
    for m in sorted(res["methods"], key=lambda m: -m["mean"]):
        out.append(f"| {m['method']} | {m['kind']} | {m['n']} | {m['mean']:.2f} ± {m['std']:.2f} "
                   f"| {m['remeasured']}/{m['n']} | {m['regret_best']:.2f} | "
                   f"{m['regret_held']:.2f} | {m['table_regret']:.2f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=Path, nargs="+", required=True,
                   help="JSON-lines files of extra training runs (tabular_build.py --cells)")
    p.add_argument("--runs", type=Path, nargs="*", default=[],
                   help="search results (tabular.py run) whose cells to score")
    p.add_argument("--table", type=Path, default=None,
                   help="the table's CSV (default: the shipped nb201-mnist1d)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps", type=int, default=400, help="search budget of the runs to score")
    p.add_argument("--control", type=Path, default=None,
                   help="cells drawn at random (one NB201 string a line) whose extra runs test "
                        "that the extra seeds do not differ from the table's as a whole")
    p.add_argument("--md", type=Path, default=None)
    args = p.parse_args(argv)
    csv_path = args.table or HERE.parent / "src/dnas/bench/data/nb201-mnist1d.csv"
    cells = load_rows(csv_path, args.rows, args.epochs)
    runs = [json.loads(line) for path in args.runs
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    runs = [r for r in runs if r.get("budget") == args.steps]
    control = None
    if args.control:
        from dnas.spaces import nb201

        control = [nb201.to_string(nb201.canonical(nb201.from_string(line.strip())))
                   for line in args.control.read_text(encoding="utf-8").splitlines()
                   if line.strip()]
    text = markdown(analyse(cells, runs, control=control))
    if args.md:
        args.md.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
