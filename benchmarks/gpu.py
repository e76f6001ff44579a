"""DARTS search throughput on a GPU: per-edge eager vs packed eager vs packed + CUDA graph.

One call records, for the DARTS search network (C=16, 8 cells, batch 64, CIFAR-shaped random
data; ``darts``, DARTS' optimiser settings), first and second order, float32 and bf16 autocast
(and bf16 + channels-last for the packed cell), per variant: seconds per search iteration (α step
+ weight step, median of ``--iters`` after ``--warmup``, CUDA events around each iteration),
training images/s, the projected wall time of DARTS' 50-epoch CIFAR-10 search
(``50 · ceil(25000 / batch)`` iterations) and peak GPU memory. The CUDA-graph variant runs the
searcher's iterations through :class:`dnas.bilevel.graphed.GraphedIterations` (static input
buffers, one replay per iteration). Before timing it checks that graphed float32 iterations give
bit for bit the state of eager ones on the same batches (``--no-check`` skips it).

Meant for one call on a lent GPU (issue 10, item 7); it stops timing variants when
``--time-limit`` seconds have passed and says which were left out::

    python benchmarks/gpu.py --out benchmarks/results/gpu.md
    python benchmarks/gpu.py --iters 5 --warmup 2 --time-limit 240      # a short lease
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from search_iteration import A_DECAY, A_LR, CLIP, MOMENTUM, W_DECAY, W_LR, _write, machine

from dnas.bilevel.config import SearchConfig
from dnas.bilevel.graphed import GraphedIterations
from dnas.bilevel.loop import Searcher
from dnas.spaces.darts import search_network

TRAIN_IMAGES, EPOCHS = 25_000, 50


@dataclass(frozen=True)
class Variant:
    execution: str  # "per-edge" or "packed"
    graph: bool
    bf16: bool
    channels_last: bool
    order: int

    @property
    def name(self) -> str:
        how = f"{self.execution} {'+ CUDA graph' if self.graph else 'eager'}"
        dtype = "bf16" + (" + channels-last" if self.channels_last else "") if self.bf16 \
            else "float32"
        return f"{how}, {dtype}, order {self.order}"


def variants() -> list[Variant]:
    out = []
    for bf16 in (False, True):
        for order in (1, 2):
            out += [Variant("per-edge", False, bf16, False, order),
                    Variant("packed", False, bf16, False, order),
                    Variant("packed", True, bf16, False, order)]
    out += [Variant("packed", False, True, True, 1), Variant("packed", True, True, True, 1)]
    return out


def build(v: Variant, args: argparse.Namespace, device: torch.device) -> tuple[Searcher, list]:
    torch.manual_seed(0)
    net = search_network(C=args.C, layers=args.layers, num_classes=10, execution=v.execution)
    g = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if v.channels_last else torch.contiguous_format
    batches = []
    for _ in range(4):
        x = torch.randn(args.batch, 3, 32, 32, generator=g)
        y = torch.randint(0, 10, (args.batch,), generator=g)
        x = x.to(device).contiguous(memory_format=fmt)
        batches.append(((x, y.to(device)), (x.flip(0), y.flip(0).to(device))))
    cfg = SearchConfig.for_method(
        "darts", order=v.order, batch_size=args.batch, device=str(device), seed=0, w_lr=W_LR,
        w_momentum=MOMENTUM, w_weight_decay=W_DECAY, grad_clip=CLIP, arch_lr=A_LR,
        arch_weight_decay=A_DECAY, progress=False,
    )
    data = (torch.zeros(args.batch, 3, 32, 32), torch.zeros(args.batch, dtype=torch.long))
    searcher = Searcher(net, data, data, cfg)
    if v.channels_last:
        searcher.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return searcher, batches


def stepper(searcher: Searcher, graph: bool) -> Any:
    if not graph:
        def eager(train: Any, valid: Any) -> None:
            searcher.arch_step(train, valid)
            searcher.weight_step(train)
        return eager
    graphed = GraphedIterations(searcher, capture=True)
    searcher.graphed = graphed

    def replayed(train: Any, valid: Any) -> None:
        if not graphed.step(train, valid, True):
            raise RuntimeError("the batches do not fit the graph's static buffers")
    return replayed


def amp(v: Variant, device: torch.device) -> Any:
    # the autocast cast cache must be off while a graph is captured (PyTorch's CUDA-graph notes)
    return (torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not v.graph)
            if v.bf16 else nullcontext())


def measure(v: Variant, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    searcher, batches = build(v, args, device)
    step = stepper(searcher, v.graph)
    with amp(v, device):
        for i in range(args.warmup):
            step(*batches[i % 4])
        torch.cuda.synchronize(device)
        times = []
        for i in range(args.iters):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            step(*batches[i % 4])
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
    med = statistics.median(times)
    iters = EPOCHS * math.ceil(TRAIN_IMAGES / args.batch)
    peak = torch.cuda.max_memory_allocated(device) / 2**30
    return {"variant": v.name, "s": med, "images": args.batch / med,
            "hours": iters * med / 3600, "peak_gib": peak}


def check_bit_for_bit(args: argparse.Namespace, device: torch.device, order: int) -> str:
    """Graphed float32 iterations against eager ones on the same batches: identical state?"""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        states = []
        for graph in (False, True):
            v = Variant("packed", graph, False, False, order)
            searcher, batches = build(v, args, device)
            step = stepper(searcher, graph)
            for i in range(args.check_iters):
                step(*batches[i % 4])
            torch.cuda.synchronize(device)
            states.append({k: t.clone() for k, t in searcher.model.state_dict().items()})
        differ = [k for k in states[0] if not torch.equal(states[0][k], states[1][k])]
        worst = max((float((states[0][k].double() - states[1][k].double()).abs().max())
                     for k in differ), default=0.0)
        return (f"order {order}: {args.check_iters} iterations, graphed == eager bit for bit: "
                f"**{'yes' if not differ else 'NO'}**"
                + (f" ({len(differ)} tensors differ, max |Δ| {worst:.3g})" if differ else ""))
    finally:
        torch.backends.cudnn.deterministic = False
        torch.backends.cudnn.benchmark = True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--check-iters", type=int, default=6)
    p.add_argument("--no-check", action="store_true")
    p.add_argument("--time-limit", type=float, default=480.0,
                   help="seconds after which no further variant starts (480)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type != "cuda" or not torch.cuda.is_available():
        p.error(f"--device={args.device!r}: this benchmark needs a CUDA device "
                f"(torch.cuda.is_available() is {torch.cuda.is_available()})")
    deadline = time.perf_counter() + args.time_limit
    torch.backends.cudnn.benchmark = True
    lines = [
        "# DARTS search on a GPU: per-edge vs packed vs packed + CUDA graph", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()}; {torch.cuda.get_device_name(device)}; torch {torch.__version__}",
        f"- command: `python benchmarks/gpu.py {' '.join(argv or sys.argv[1:])}`",
        f"- C={args.C}, {args.layers} cells, batch {args.batch}; median of {args.iters} "
        f"iterations after {args.warmup} warm-up", "",
    ]
    if not args.no_check:
        for order in (1, 2):
            lines.append("- " + check_bit_for_bit(args, device, order))
            print(lines[-1], flush=True)
        lines.append("")
    lines += ["| variant | s / iteration | training images/s | projected 50-epoch search (h) "
              "| peak GiB |", "|---|---|---|---|---|"]
    left = []
    for v in variants():
        if time.perf_counter() > deadline:
            left.append(v.name)
            continue
        try:
            r = measure(v, args, device)
        except (RuntimeError, ValueError) as e:  # report and go on: one call, every number
            lines.append(f"| {v.name} | failed: {str(e).splitlines()[0][:120]} | | | |")
        else:
            lines.append(f"| {r['variant']} | {r['s']:.4f} | {r['images']:.0f} | "
                         f"{r['hours']:.2f} | {r['peak_gib']:.2f} |")
        print(lines[-1], flush=True)
        if args.out is not None:
            _write(args.out, "\n".join(lines) + "\n")
    if left:
        lines += ["", f"Not run (time limit {args.time_limit:.0f} s): " + "; ".join(left)]
    lines.append(f"\n- load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        _write(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
