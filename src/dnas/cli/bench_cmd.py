"""``dnas bench [RUN_OR_ARCH ...]``: look architectures up in a tabular benchmark.

An argument is a search run folder (its ``architecture.json``, or those of its ``seed-*``
folders after ``dnas search --seeds``), an architecture JSON file, or a NAS-Bench-201 string.
Without arguments it describes the table: its size (and coverage, when partial), optimum, median
and recipe. A cell a partial table has no row for is reported as such; the exit status is 1 when
none of the cells given has a row.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from dnas.arch.architecture import Architecture


def _architectures(ref: str) -> list[tuple[str, Architecture]]:
    path = Path(ref)
    if path.is_dir():
        files = sorted(path.glob("seed-*/architecture.json")) or [path / "architecture.json"]
        if not files[0].is_file():
            raise ValueError(f"{ref!r} is a folder without architecture.json (nor seed-*/ runs)")
        return [(str(f), Architecture.load(f)) for f in files]
    if path.suffix == ".json" or path.is_file():
        return [(ref, Architecture.load(path))]
    if ref.startswith("|"):
        from dnas.spaces.nb201 import to_architecture

        return [(ref, to_architecture(ref))]
    raise ValueError(
        f"{ref!r} is neither a run folder, an architecture file nor a NAS-Bench-201 string "
        "such as '|nor_conv_3x3~0|+|...|'"
    )


def describe(table: Any) -> str:
    """A few lines about a table: size, optimum, median, recipe."""
    entries = table.entries()
    accs = [e.test_acc for e in entries]
    best = table.optimum()
    recipe = table.meta.get("recipe", {})
    lines = [
        f"table {table.name}: {table.coverage_text()} of the NAS-Bench-201 space with "
        f"operations {', '.join(table.ops)}",
        f"optimum: {100 * best.test_acc:.2f}% test ({best.arch})",
        f"median: {100 * statistics.median(accs):.2f}%, worst: {100 * min(accs):.2f}%",
    ]
    if recipe:
        lines.append("recipe: " + ", ".join(f"{k}={v}" for k, v in recipe.items()))
    if table.complete is False:
        lines.append("partial table: percentiles, ranks and regrets are over the cells it holds "
                     "(a uniform sample of the space when built by benchmarks/tabular_build.py)")
    return "\n".join(lines)


def missing(arch: Any, table: Any) -> str:
    """What to say about a cell the (partial) table has no row for."""
    from dnas.spaces.nb201 import canonical, to_string

    return (f"cell: {to_string(canonical(arch))}\n  not in table {table.name} "
            f"({table.coverage_text()}): no score")


def report(entry: Any, table: Any) -> str:
    """How good one architecture is, in the table's words."""
    best = table.optimum()
    return (
        f"cell: {entry.arch}\n"
        f"  test accuracy {100 * entry.test_acc:.2f} ± {100 * entry.test_std:.2f}% "
        f"({entry.seeds} training seed{'s' if entry.seeds > 1 else ''}), validation "
        f"{100 * entry.valid_acc:.2f}%\n"
        f"  percentile {entry.percentile:.1f} (rank {entry.rank} of {len(table)}"
        f"{'' if table.complete is not False else ' cells trained so far'}), regret "
        f"{entry.regret:.2f} points to the optimum {100 * best.test_acc:.2f}%\n"
        f"  {entry.params} parameters, {entry.flops / 1e6:.2f} MFLOPs per sample"
    )


def run_bench(refs: list[str], table_name: str, epochs: int | None, as_json: bool) -> int:
    """Run ``dnas bench``; returns the exit status."""
    from dnas.bench.shipped import load

    table = load(table_name, epochs=epochs)
    if not refs:
        print(describe(table))
        return 0
    found = [item for ref in refs for item in _architectures(ref)]
    looked_up = [(where, arch, table.get(arch)) for where, arch in found]
    entries = [(where, e) for where, _, e in looked_up if e is not None]
    if as_json:
        print(json.dumps([{"source": w, **(e.to_dict() if e is not None else {"entry": None})}
                          for w, _, e in looked_up], indent=2))
        return 0 if entries else 1
    for where, arch, entry in looked_up:
        if entry is None:
            print(f"{where}:\n{missing(arch, table)}")
            continue
        if where != entry.arch:
            print(f"{where}:")
        print(report(entry, table))
    if len(entries) > 1:
        accs = [100 * e.test_acc for _, e in entries]
        pct = [e.percentile for _, e in entries]
        print(f"{len(entries)} architectures: test accuracy {statistics.fmean(accs):.2f} ± "
              f"{statistics.pstdev(accs):.2f}%, percentile {statistics.fmean(pct):.1f} "
              f"(min {min(pct):.1f})")
    return 0 if entries else 1  # 1: none of the cells has a row (a partial table)


__all__ = ["describe", "report", "run_bench"]
