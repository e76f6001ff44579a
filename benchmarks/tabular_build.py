"""Build a NAS-Bench-201-style table on MNIST-1D: train every unique cell with one recipe.

Each (cell, seed, epochs) job is one line of a JSON-lines file, appended as soon as it finishes,
so the build can be stopped and resumed at any time (jobs already in the file are skipped). Jobs run
in worker processes with one torch thread each.

    # the shipped 4-operation table: every cell once, a second seed on 150 cells (seed noise),
    # twice the epochs on 100 cells (budget rank correlation), 2 workers, in the background
    nohup nice -n 5 python benchmarks/tabular_build.py --ops 4 --workers 2 \
        --noise-cells 150 --budget-cells 100 --out benchmarks/results/nb201_mnist1d/rows.jsonl &
    # a pilot: 32 random cells + all-skip / all-pool / all-conv, 2 seeds
    python benchmarks/tabular_build.py --ops 4 --sample 32 --special --seeds 0,1 --out pilot.jsonl
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path

# benchmarks/mnist1d.py would shadow the mnist1d package for this script and its workers
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

_STATE: dict = {}


def _init_worker(recipe_dict: dict) -> None:
    import torch

    from dnas.bench.recipe import Recipe

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    recipe = Recipe(**recipe_dict)
    data = recipe.load_data()
    _STATE.update(recipe=recipe, data=data, splits=recipe.splits(data))


def _run(job: tuple[str, int, int]) -> dict:
    import dataclasses

    from dnas.bench.recipe import train_row

    arch, seed, epochs = job
    recipe = dataclasses.replace(_STATE["recipe"], epochs=epochs)
    return train_row(arch, recipe, _STATE["data"], seed, splits=_STATE["splits"])


def _cells(args: argparse.Namespace) -> list[str]:
    from dnas.spaces import nb201

    ops = nb201.OPS_4 if args.ops == 4 else nb201.OPS
    if args.cells is not None:
        cells = []
        for k, line in enumerate(args.cells.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cell = nb201.to_string(nb201.canonical(nb201.from_string(line.strip())))
            except ValueError as exc:
                raise SystemExit(f"--cells {args.cells}, line {k}: {exc}") from None
            if cell not in cells:
                cells.append(cell)
        return cells
    cells = [nb201.to_string(c) for c in nb201.unique_cells(ops)]
    if args.sample:
        cells = random.Random(args.sample_seed).sample(cells, min(args.sample, len(cells)))
    if args.special:
        for op in ("skip_connect", "avg_pool_3x3", "nor_conv_3x3"):
            s = nb201.to_string(nb201.canonical((op,) * 6))
            if s not in cells:
                cells.append(s)
    return cells


def _same_recipe(a: dict, b: dict) -> bool:
    # rows of several budgets (epochs) may share a file; anything else must match
    strip = lambda m: {**m, "recipe": {**m.get("recipe", {}), "epochs": None}}  # noqa: E731
    return strip(a) == strip(b)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="JSON-lines file (appended, resumed)")
    p.add_argument("--ops", type=int, choices=(4, 5), default=4, help="4- or 5-operation space")
    p.add_argument("--seeds", default="0", help="comma-separated training seeds")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--sample", type=int, default=0, help="only this many random unique cells")
    p.add_argument("--sample-seed", type=int, default=0)
    p.add_argument("--special", action="store_true", help="add all-skip, all-pool, all-conv")
    p.add_argument("--cells", type=Path, default=None,
                   help="only the cells of this file (one NB201 string a line), e.g. the top of "
                        "a table to re-measure with more seeds")
    p.add_argument("--noise-cells", type=int, default=0,
                   help="the first N cells (shuffled order) also get --noise-seeds")
    p.add_argument("--noise-seeds", type=lambda t: [int(x) for x in t.split(",")], default=[1])
    p.add_argument("--budget-cells", type=int, default=0,
                   help="the first N cells also get a run with --budget-epochs")
    p.add_argument("--budget-epochs", type=int, default=0, help="default: twice the recipe's")
    p.add_argument("--order-seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--recipe", default="{}", help="JSON of Recipe fields to override")
    args = p.parse_args(argv)

    from dnas.bench.recipe import Recipe

    recipe = Recipe(**json.loads(args.recipe))
    if args.epochs is not None:
        import dataclasses

        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    seeds = [int(s) for s in args.seeds.split(",")]
    meta = {"recipe": recipe.to_dict()}

    done: set[tuple[str, int, int]] = set()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: its job runs again
            if _same_recipe(row.get("meta", meta), meta):
                done.add((row["arch"], row["seed"], row["epochs"]))
            else:
                print(f"{args.out} holds rows of another recipe or data set ({row.get('meta')}); "
                      "write this build to another file", file=sys.stderr)
                return 2
    cells = _cells(args)
    # a seeded shuffle: a partial build is a uniform sample of the space, and the seed-noise and
    # budget rows of the first cells come early, interleaved with the main rows
    random.Random(args.order_seed).shuffle(cells)
    plan = []
    for k, cell in enumerate(cells):
        plan.extend((cell, seed, recipe.epochs) for seed in seeds)
        if k < args.noise_cells:
            plan.extend((cell, seed, recipe.epochs) for seed in args.noise_seeds)
        if k < args.budget_cells:
            plan.append((cell, seeds[0], args.budget_epochs or 2 * recipe.epochs))
    jobs = [job for job in plan if job not in done]
    print(f"{len(done)} rows done, {len(jobs)} to run with {args.workers} workers", flush=True)
    if not jobs:
        return 0
    start = time.time()
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.workers, _init_worker, (recipe.to_dict(),)) as pool, \
            open(args.out, "a", encoding="utf-8") as fh:
        for k, row in enumerate(pool.imap_unordered(_run, jobs), start=1):
            row["meta"] = meta
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if k % 10 == 0 or k == len(jobs):
                rate = (time.time() - start) / k
                print(
                    f"{k}/{len(jobs)} rows, {rate:.1f} s/row, ~{rate * (len(jobs) - k) / 60:.0f} "
                    f"min left; last {row['arch']} test {row['test_acc']:.3f}",
                    flush=True,
                )
        pool.close()  # let the workers exit (leaving the block terminates them)
        pool.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
