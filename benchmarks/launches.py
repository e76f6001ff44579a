"""Count the ATen calls of a DARTS search step: per-edge vs packed cell vs the official code.

On a GPU a DARTS search iteration is bound by the host: its kernels are small and each costs a
launch (issue 10). The number of ATen operator calls that reach a kernel is the machine-independent
measure of that cost, and it can be counted exactly on a CPU. This script counts, in one run, for
the DARTS search network (C=16, 8 cells, batch 64, 3×32×32 inputs, 10 classes by default):

* one forward+backward pass (``zero_grad(set_to_none=True)``; ``cross_entropy(model(x), y)
  .backward()``, training mode, every parameter gets its gradient);
* one first-order search iteration (α step on a validation batch, then the weight step);
* one second-order iteration (the unrolled α step, eq. 6-8, then the weight step);

for dnas with ``execution="per-edge"`` (the paper's formulation, one mixed op per edge), dnas with
``execution="packed"`` (:mod:`dnas.spaces.darts.packed`) in both of its depthwise strategies —
``packed``: copies, what it runs on CUDA (the launch targets are counted on it); ``packed-cpu``:
the channel multiplier it runs on a CPU (its reordering copies add calls a GPU never makes; the
wall-time target is timed on it) — and the official code (github
quark0/darts ``cnn/``, patched by ``benchmarks/peers/prepare_official_darts.py``, driven as its
``train_search.py`` does) when a checkout is given. dnas runs through :class:`dnas.Searcher`
(``arch_step`` then ``weight_step``) with DARTS' settings; iterations are counted after two
warm-up iterations (optimiser state and momentum buffers exist), on the same batches for all.

**What is counted.** Every call that reaches the ATen dispatcher below autograd, recorded by a
``TorchDispatchMode`` (forward, backward and optimiser; composite operations appear as the
operations they decompose into, as a kernel sees them). A call is **kernel-launching** unless it
only makes a view or reads metadata, which is decided from the operator's schema: not launching
are operators whose every output aliases an input without writing to it (``view``, ``t``,
``transpose``, ``split``, ``unbind``, ``select``, ``slice``, ``detach``, ``expand``,
``as_strided``, ...), and the allocation- or metadata-only operators in :data:`NO_KERNEL`
(``empty``, ``empty_strided``, ``new_empty``, ``_unsafe_view``, ``lift_fresh``, ...). Everything
else — arithmetic, in-place updates (their alias is written to), copies, ``_foreach`` operations,
fills, reductions — counts as one launch (a ``_foreach`` call is one call, as its CUDA
implementation is a few fused kernels). On an H100 profile the issue calibrated ≈1.4 CUDA kernels
per kernel-launching call.

**Wall time.** The same first-order iteration timed on the CPU (``--threads``, default 1) for each
implementation in rounds, the order of the implementations rotated every round so that load from
other work hits all alike; medians of wall time and of process CPU time are reported, with the
ratios to the official code.

Usage::

    python benchmarks/launches.py --out benchmarks/results/launches.md
    python benchmarks/launches.py --C 8 --layers 5 --batch 16 --rounds 3 --no-official
    python benchmarks/launches.py --batch 2 --image-size 8 --rounds 0   # counts only, quickly

The counts do not depend on the batch size or the image size (no code path of either
implementation branches on them), so ``--batch 2 --image-size 8 --rounds 0`` gives the counts of
the full setting in a fraction of the time; the report states the sizes it ran.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from search_iteration import (  # benchmarks/ is the script's folder
    A_DECAY,
    A_LR,
    CLIP,
    MOMENTUM,
    W_DECAY,
    W_LR,
    Official,
    Setting,
    _write,
    machine,
    plain_pass,
)
from torch.utils._python_dispatch import TorchDispatchMode

from dnas.bilevel.config import SearchConfig
from dnas.bilevel.loop import Searcher
from dnas.spaces.darts import search_network

#: operators that allocate or read metadata without running a kernel (views are found by schema)
NO_KERNEL = frozenset({
    "empty", "empty_strided", "new_empty", "new_empty_strided", "_unsafe_view", "_reshape_alias",
    "lift_fresh", "is_same_size", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset",
    "_has_compatible_shallow_copy_type", "_local_scalar_dense",
})

#: the issue's figures for the official code (H100 session, CPU count), not measured here
ISSUE_OFFICIAL = {"iter1": (35_504, 28_650), "iter2": (121_667, None)}
TARGETS = {"iter1": 7_000, "iter2": 18_000}

_LAUNCHES: dict[Any, bool] = {}


def launches(func: Any) -> bool:
    """Whether an ATen operator runs a kernel (the rule in the module docstring)."""
    known = _LAUNCHES.get(func)
    if known is None:
        returns = func._schema.returns
        view = bool(returns) and all(
            r.alias_info is not None and not r.alias_info.is_write for r in returns
        )
        known = not view and func.overloadpacket.__name__ not in NO_KERNEL
        _LAUNCHES[func] = known
    return known


class CountCalls(TorchDispatchMode):
    """Counts every ATen call, and the kernel-launching ones per operator."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.launching: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.calls += 1
        if launches(func):
            self.launching[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))

    @property
    def launches(self) -> int:
        return sum(self.launching.values())


class Ours:
    """dnas through :class:`Searcher`, one search network per order, built with ``execution``."""

    def __init__(self, s: Setting, execution: str, seed: int, size: int = 32,
                 depthwise: str = "auto") -> None:
        data = (torch.zeros(s.batch, 3, size, size), torch.zeros(s.batch, dtype=torch.long))
        self.searchers = {}
        for order in (1, 2):
            torch.manual_seed(seed)  # the same initial weights and α for every implementation
            cfg = SearchConfig.for_method(
                "darts", order=order, batch_size=s.batch, device="cpu", seed=seed,
                w_lr=W_LR, w_momentum=MOMENTUM, w_weight_decay=W_DECAY, grad_clip=CLIP,
                arch_lr=A_LR, arch_weight_decay=A_DECAY, progress=False,
            )
            model = search_network(C=s.C, layers=s.layers, num_classes=10, execution=execution)
            model.packed_depthwise = depthwise
            self.searchers[order] = Searcher(model.train(), data, data, cfg)
        self.model = self.searchers[1].model

    def arch(self, order: int, train: Any, valid: Any) -> None:
        self.searchers[order].arch_step(train, valid)

    def weight(self, order: int, train: Any) -> None:
        self.searchers[order].weight_step(train)

    def floor(self, train: Any) -> None:
        plain_pass(self.model, train)


def iteration(impl: Any, order: int, train: Any, valid: Any) -> None:
    impl.arch(order, train, valid)
    impl.weight(order, train)


def count(impl: Any, pool: list, warmup: int = 2) -> dict[str, CountCalls]:
    """The counts of one pass, one first-order and one second-order iteration of ``impl``."""
    out = {}
    plain_pass(impl.model, pool[0])  # lazily built state (plans, index tensors)
    with CountCalls() as c:
        impl.floor(pool[0])
    out["pass"] = c
    for order in (1, 2):
        for i in range(warmup):
            iteration(impl, order, pool[i % 4], pool[(i + 1) % 4])
        with CountCalls() as c:
            iteration(impl, order, pool[2], pool[3])
        out[f"iter{order}"] = c
    return out


def timed_rounds(impls: dict[str, Any], pool: list, rounds: int, warmup: int = 1,
                 deadline: float | None = None) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of first-order iterations, implementations rotated every round."""
    times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in impls}
    names = list(impls)
    for r in range(warmup + rounds):
        if deadline is not None and r >= warmup + 2 and time.perf_counter() > deadline:
            break
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            train, valid = pool[r % 4], pool[(r + 1) % 4]
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            iteration(impls[name], 1, train, valid)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if r >= warmup:
                times[name]["wall"].append(wall)
                times[name]["cpu"].append(cpu)
            print(f"  round {r + 1}/{warmup + rounds}{' (warm-up)' if r < warmup else ''} "
                  f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr, flush=True)
    return times


def _ratio(a: float, b: float | None) -> str:
    return "—" if not b else f"{a / b:.3f}"


def report(counts: dict[str, dict[str, CountCalls]], times: dict[str, dict[str, list[float]]],
           header: list[str]) -> str:
    names = list(counts)
    official = "official" in counts
    lines = [*header, "", "## ATen calls", "",
             "| implementation | pass: all | pass: launching | 1st-order iter: all | "
             "1st-order iter: launching | 2nd-order iter: all | 2nd-order iter: launching |",
             "|---|---|---|---|---|---|---|"]
    for n in names:
        c = counts[n]
        lines.append(f"| {n} | " + " | ".join(
            f"{c[k].calls:,} | {c[k].launches:,}" for k in ("pass", "iter1", "iter2")) + " |")
    if not official:
        a1, l1 = ISSUE_OFFICIAL["iter1"]
        lines.append(f"| official (issue 10's figures, **not measured in this run**) | — | — | "
                     f"{a1:,} | {l1:,} | {ISSUE_OFFICIAL['iter2'][0]:,} | — |")
    lines += ["", "Ratios (launching calls; all calls in parentheses):", "",
              "| | pass | 1st-order iteration | 2nd-order iteration |", "|---|---|---|---|"]
    pairs = [("packed", "per-edge"), ("packed-cpu", "per-edge")] + (
        [("packed", "official"), ("packed-cpu", "official"), ("per-edge", "official")]
        if official else [])
    for a, b in pairs:
        if a in counts and b in counts:
            cells = [f"{_ratio(counts[a][k].launches, counts[b][k].launches)} "
                     f"({_ratio(counts[a][k].calls, counts[b][k].calls)})"
                     for k in ("pass", "iter1", "iter2")]
            lines.append(f"| {a} / {b} | " + " | ".join(cells) + " |")
    if "packed" in counts:
        lines += ["", "Targets (issue 10, packed, counted on the kernels CUDA runs):", ""]
        for key, limit in TARGETS.items():
            got = counts["packed"][key].launches
            which = "1st" if key == "iter1" else "2nd"
            verdict = "met" if got <= limit else "NOT met"
            lines.append(f"- launching calls per {which}-order iteration ≤ {limit:,}: {got:,} — "
                         f"**{verdict}**")
        ref = counts["official"]["iter1"].calls if official else ISSUE_OFFICIAL["iter1"][0]
        got = counts["packed"]["iter1"].calls
        where = "measured in this run" if official else "the issue's figure, not measured here"
        lines.append(f"- all ATen calls per 1st-order iteration ≤ 1/4 of the official code's "
                     f"({ref:,}, {where}): {got:,} = {got / ref:.3f}× — "
                     f"**{'met' if 4 * got <= ref else 'NOT met'}**")
    if times:
        lines += ["", "## CPU time per first-order iteration", "",
                  "| implementation | iterations | median wall s | median CPU s | wall / official "
                  "| CPU / official | wall / per-edge |", "|---|---|---|---|---|---|---|"]
        med = {n: (statistics.median(t["wall"]), statistics.median(t["cpu"]))
               for n, t in times.items() if t["wall"]}
        for n, (wall, cpu) in med.items():
            ow, oc = med.get("official", (None, None))
            pw = med.get("per-edge", (None, None))[0]
            lines.append(f"| {n} | {len(times[n]['wall'])} | {wall:.3f} | {cpu:.3f} | "
                         f"{_ratio(wall, ow)} | {_ratio(cpu, oc)} | {_ratio(wall, pw)} |")
        cpu_way = "packed-cpu" if "packed-cpu" in med else "packed"
        if "official" in med and cpu_way in med:
            r = med[cpu_way][0] / med["official"][0]
            lines.append(f"\n- first-order iteration wall time ≤ 0.6× the official code's "
                         f"({cpu_way}, what `execution='packed'` runs on a CPU): "
                         f"{r:.3f}× — **{'met' if r <= 0.6 else 'NOT met'}**")
    lines += ["", "## Kernel-launching calls per operator, one first-order iteration", "",
              "| operator | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    ops = Counter()
    for n in names:
        ops.update(counts[n]["iter1"].launching)
    for op, _ in ops.most_common(25):
        lines.append(f"| {op} | " + " | ".join(
            f"{counts[n]['iter1'].launching.get(op, 0):,}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Count the ATen calls of a DARTS search step.")
    p.add_argument("--C", type=int, default=16, help="channels of the first cells (16)")
    p.add_argument("--layers", type=int, default=8, help="cells (8)")
    p.add_argument("--batch", type=int, default=64, help="batch size (64)")
    p.add_argument("--image-size", type=int, default=32, help="image height and width (32)")
    p.add_argument("--rounds", type=int, default=5,
                   help="timed rounds of first-order iterations (5; 0 skips timing)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds of timing after which rounds stop (at least 2 are kept)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (1)")
    p.add_argument("--official", type=Path, default=Path("/tmp/peers/darts"),
                   help="patched checkout of github.com/quark0/darts (default /tmp/peers/darts)")
    p.add_argument("--no-official", action="store_true", help="dnas only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="also write the markdown report here")
    args = p.parse_args(argv)
    for name in ("C", "layers", "batch", "image_size", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}={getattr(args, name)} must be >= 1")
    if args.rounds < 0:
        p.error(f"--rounds={args.rounds} must be >= 0")
    torch.set_num_threads(args.threads)
    s = Setting(args.C, args.layers, args.batch, args.rounds, 1)
    size = args.image_size
    header = [
        "# ATen calls of a DARTS search step: per-edge vs packed vs the official code", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()}; torch {torch.__version__}, {torch.get_num_threads()} thread(s)",
        f"- command: `python benchmarks/launches.py {' '.join(argv or sys.argv[1:])}`",
        f"- setting: C={s.C}, {s.layers} cells, batch {s.batch}, 3×{size}×{size} inputs, darts, "
        "8 primitives, 4 nodes",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    # the packed cell's depthwise convolutions run one of two ways (dnas.spaces.darts.packed):
    # "packed" is CUDA's way (copies: the fewest kernels, what a GPU launches), "packed-cpu" the
    # CPU's (a channel multiplier: faster CPU kernels, at the price of reordering copies)
    impls: dict[str, Any] = {"per-edge": Ours(s, "per-edge", args.seed, size),
                             "packed": Ours(s, "packed", args.seed, size, "copies"),
                             "packed-cpu": Ours(s, "packed", args.seed, size, "multiplier")}
    if not args.no_official:
        try:
            impls["official"] = Official(s, torch.device("cpu"), args.seed, args.official)
        except (ValueError, ImportError) as e:
            header.append(f"- official code not run: {e}")
    g = torch.Generator().manual_seed(args.seed)
    pool = [(torch.randn(s.batch, 3, size, size, generator=g),
             torch.randint(0, 10, (s.batch,), generator=g)) for _ in range(4)]
    counts = {}
    for name, impl in impls.items():
        print(f"counting {name}", file=sys.stderr, flush=True)
        counts[name] = count(impl, pool)
        c = counts[name]
        print("  " + ", ".join(f"{k}: {v.calls:,} calls, {v.launches:,} launching"
                               for k, v in c.items()), file=sys.stderr, flush=True)
    deadline = None if args.time_limit is None else time.perf_counter() + args.time_limit
    times = timed_rounds(impls, pool, args.rounds, deadline=deadline) if args.rounds else {}
    header.append(f"- load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    text = report(counts, times, header)
    if args.out is not None:
        _write(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
