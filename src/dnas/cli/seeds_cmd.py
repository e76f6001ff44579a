"""``dnas search --seeds 0,1,2,3``: one search per seed, scored, mean ± std, the best kept.

Every seed is an ordinary ``dnas search`` run in ``OUT/seed-N`` (its own config, checkpoints and
log), run in parallel worker processes. Each found architecture is then scored: looked up in the
space's tabular benchmark when the search ran on the table's data (``--space nb201`` on MNIST-1D),
else by a short retrain on the search's training half and its accuracy on the validation half
(DARTS' selection protocol; ``--score-epochs``, 0 to skip). ``OUT/seeds.json`` holds the scores,
their mean ± std and the best seed by validation accuracy (the table's ``valid_acc``, or the
retrain's), whose architecture is copied to ``OUT/architecture.json``.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnas.arch.architecture import Architecture
from dnas.cli.common import note


def parse_seeds(text: Any) -> list[int]:
    """``"0,1,2,3"`` (or a list) as distinct integers; ``ValueError`` naming ``seeds`` otherwise."""
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    try:
        seeds = [int(str(s).strip()) for s in items if str(s).strip() != ""]
    except ValueError:
        raise ValueError(
            f"seeds={text!r} must be comma-separated integers such as 0,1,2,3"
        ) from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds={text!r} must be distinct integers >= 0, at least one")
    return seeds


def _one_seed(job: tuple[dict[str, Any], str | None, bool, str]) -> tuple[int, str]:
    flags, config_file, resume, log = job
    from dnas.cli.search_cmd import run_search

    out = Path(flags["out"])
    out.mkdir(parents=True, exist_ok=True)
    again = resume and (out / "checkpoints" / "last.pt").exists()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = run_search(flags, config_file, True if again else None)
    Path(log).write_text(buffer.getvalue(), encoding="utf-8")
    return status, buffer.getvalue()


def _score_by_retrain(resolved: Mapping[str, Any], arch: Architecture, seed: int) -> float:
    from dnas.cli.common import load_data, subset
    from dnas.data import search_split
    from dnas.train.trainer import retrain

    data = load_data(resolved)
    X, y = subset(data.X_train, data.y_train, resolved["n_train"])
    train, valid = search_split(X, y, 0.5, seed=seed)
    model: Any
    if resolved["space"] == "nb201":
        from dnas.spaces.nb201 import fixed_network

        model = fixed_network(arch, C=resolved["channels"], N=resolved["layers"],
                              num_classes=data.num_classes, dim=data.dim,
                              in_channels=data.in_channels, seed=seed)
    else:
        from dnas.spaces.darts import eval_network

        model = eval_network(arch, C=resolved["channels"], layers=resolved["layers"],
                             num_classes=data.num_classes, dim=data.dim,
                             in_channels=data.in_channels, auxiliary=False)
    result = retrain(model, train, valid, epochs=resolved["score_epochs"], batch_size=64,
                     cutout=0, drop_path_prob=0.0, auxiliary_weight=0.0, crop_padding=0,
                     flip=False, seed=seed, progress=False, device=resolved.get("device") or "auto")
    return result.test_accuracy


def run_seeds(flags: dict[str, Any], config_file: str | None, resume: Any,
              resolved: Mapping[str, Any]) -> int:
    """Run the searches of ``--seeds``, score them and write ``OUT/seeds.json``."""
    import time

    seeds = parse_seeds(resolved["seeds"])
    if "seed" in flags:
        raise ValueError("give either --seed or --seeds, not both")
    processes = resolved.get("processes") or min(len(seeds), os.cpu_count() or 1)
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes={processes!r} must be a positive integer")
    out = Path(resolved["out"] or Path("runs") / (
        f"search-{resolved['data']}-{resolved.get('method') or 'darts'}-seeds-"
        f"{time.strftime('%Y%m%d-%H%M%S')}"))
    base = {k: v for k, v in flags.items() if k not in ("seeds", "processes")}
    jobs = [({**base, "seed": s, "out": str(out / f"seed-{s}")}, config_file, bool(resume),
             str(out / f"seed-{s}" / "log.txt")) for s in seeds]
    out.mkdir(parents=True, exist_ok=True)
    if processes == 1:
        results = [_one_seed(job) for job in jobs]
    else:
        with mp.get_context("spawn").Pool(min(processes, len(jobs))) as pool:
            results = pool.map(_one_seed, jobs, chunksize=1)
            pool.close()  # workers exit on their own (terminate() would leak their semaphores)
            pool.join()
    failed = [s for s, (status, _) in zip(seeds, results) if status != 0]
    if failed:
        raise ValueError(f"the searches of seed(s) {failed} failed; see their log.txt in {out}")
    runs = []
    table = None
    from dnas.cli.search_cmd import space_table

    table_name = space_table(resolved)
    if table_name is not None:
        from dnas.bench.shipped import load

        table = load(table_name)
    for s in seeds:
        arch = Architecture.load(out / f"seed-{s}" / "architecture.json")
        row: dict[str, Any] = {"seed": s, "architecture": {k: list(v) for k, v in arch.items()}}
        if table is not None:
            entry = table.get(arch)
            if entry is None:  # a partial table: the cell was not trained yet
                from dnas.spaces.nb201 import canonical, to_string

                row["cell"] = to_string(canonical(arch))
            else:
                row.update(score=entry.test_acc, valid=entry.valid_acc,
                           percentile=entry.percentile, regret=entry.regret, cell=entry.arch)
        elif resolved.get("score_epochs"):
            row["score"] = row["valid"] = _score_by_retrain(resolved, arch, s)
        runs.append((row, arch))
    scores = [r["score"] for r, _ in runs if "score" in r]
    summary: dict[str, Any] = {"seeds": seeds, "runs": [r for r, _ in runs],
                               "scored_by": f"table {table_name}" if table is not None else
                               (f"retrain {resolved.get('score_epochs')} epochs" if scores
                                else None)}
    best_row, best_arch = runs[0]
    if scores:
        summary["mean"] = statistics.fmean(scores)
        summary["std"] = statistics.pstdev(scores) if len(scores) > 1 else 0.0
        # the best by validation accuracy (DARTS' protocol), never by the test score reported
        best_row, best_arch = max(runs, key=lambda ra: (ra[0].get("valid", -1.0), -ra[0]["seed"]))
    summary["best_seed"] = best_row["seed"]
    (out / "seeds.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    best_arch.save(out / "architecture.json")
    for row, _ in runs:
        text = f"seed {row['seed']}: "
        text += row.get("cell") or ", ".join(f"{k}={v[0]}" for k, v in row["architecture"].items())
        if "score" in row:
            text += f"  score {100 * row['score']:.2f}%"
        if "percentile" in row:
            text += f"  percentile {row['percentile']:.1f}  regret {row['regret']:.2f}"
        elif table is not None:
            text += f"  not in table {table.name} ({table.coverage_text()}): no score"
        print(text)
    if scores:
        print(f"mean ± std over {len(scores)} seeds ({summary['scored_by']}): "
              f"{100 * summary['mean']:.2f} ± {100 * summary['std']:.2f}%")
    elif table is None:
        note("architectures not scored (--score-epochs 0)")
    print(f"best: seed {best_row['seed']}" + (" (by validation accuracy)" if scores else "")
          + f" -> {out / 'architecture.json'}")
    return 0


__all__ = ["parse_seeds", "run_seeds"]
