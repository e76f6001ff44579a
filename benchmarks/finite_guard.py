"""What the non-finite guard costs a search step (issue 11): the same iterations with and without
it, interleaved in one process.

One iteration = α step + weight step + the guard's check (its one host synchronisation per step,
reading a few booleans). "off" swaps the guard for one that records and checks nothing. The
guard's work per step: ``isfinite(...).all()`` of the validation loss, of the concatenated α
gradients, of α, of the training loss and of the weight-gradient norm that clipping computes
anyway, stacked and copied to the host once.

    python benchmarks/finite_guard.py --device cpu -C 8 --layers 5 --batch 16 --iters 10
    python benchmarks/finite_guard.py --device cuda                    # C=16, 8 cells, batch 64
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from dnas.bilevel import SearchConfig, Searcher
from dnas.runtime.finite import FiniteGuard
from dnas.spaces.darts import search_network


class NoGuard(FiniteGuard):
    """Records nothing, checks nothing."""

    def watch(self, quantity, value):  # type: ignore[override]
        return None

    def check(self, **kwargs):  # type: ignore[override]
        return None


def one_iteration(searcher: Searcher, tb, vb) -> None:
    searcher.arch_step(tb, vb)
    searcher.weight_step(tb)
    searcher.guard.check(epoch=searcher.epoch, step=searcher.step)


def make(args, order: int) -> tuple[Searcher, list]:
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = search_network(C=args.C, layers=args.layers, num_classes=10, dim=2)
    g = torch.Generator().manual_seed(0)
    n = args.batch * 4
    X = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    cfg = SearchConfig.for_method("darts", order=order, epochs=1, batch_size=args.batch,
                                  device=str(device), progress=False)
    searcher = Searcher(net, (X, y), (X, y), cfg)
    batches = []
    for i in range(4):
        sl = slice(i * args.batch, (i + 1) * args.batch)
        xb = X[sl].to(device)
        batches.append(((xb, y[sl].to(device)), (xb.flip(0), y[sl].flip(0).to(device))))
    return searcher, batches


def measure(args, order: int) -> dict[str, list[float]]:
    device = torch.device(args.device)
    searcher, batches = make(args, order)
    guards = {"on": searcher.guard, "off": NoGuard("search")}
    times: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(args.warmup):
        one_iteration(searcher, *batches[i % 4])
    for i in range(args.iters):
        for variant in (("on", "off") if i % 2 == 0 else ("off", "on")):  # interleaved
            searcher.guard = guards[variant]
            tb, vb = batches[i % 4]
            # CPU: process time (the dev machine is shared; wall time is noise there)
            clock = time.perf_counter if device.type == "cuda" else time.process_time
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = clock()
            one_iteration(searcher, tb, vb)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times[variant].append(clock() - t0)
    return times


def guard_alone(device: torch.device, alphas: int, repeats: int = 2000) -> float:
    """Seconds per step of the guard by itself: five watches (two over ``alphas`` values) and
    one check, on tensors of ``device``."""
    guard = FiniteGuard("search")
    loss, norm = torch.ones((), device=device), torch.ones((), device=device)
    grads, alpha = torch.ones(alphas, device=device), torch.ones(alphas, device=device)
    clock = time.perf_counter
    best = float("inf")
    for _ in range(5):
        t0 = clock()
        for step in range(repeats):
            for q, v in (("valid", loss), ("grad", grads), ("alpha", alpha), ("train", loss),
                         ("norm", norm)):
                guard.watch(q, v)
            guard.check(epoch=0, step=step)
        best = min(best, (clock() - t0) / repeats)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("-C", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--orders", default="1,2")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    name = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
            else platform.processor() or platform.machine())
    print(f"# finite guard cost: {name}, torch {torch.__version__}, C={args.C}, "
          f"{args.layers} cells, batch {args.batch}, {args.iters} iterations per variant")
    clock = "wall" if args.device.startswith("cuda") else "process CPU"
    print(f"| order | guard on (ms, {clock}) | guard off (ms) | on / off |")
    print("|---|---|---|---|")
    device = torch.device(args.device)
    print(f"guard alone (5 watches + 1 check, 224 α values): "
          f"{guard_alone(device, 224) * 1e6:.0f} µs per step")
    for order in (int(o) for o in args.orders.split(",")):
        t = measure(args, order)
        on, off = statistics.median(t["on"]) * 1e3, statistics.median(t["off"]) * 1e3
        print(f"| {order} | {on:.1f} | {off:.1f} | {on / off:.3f} |")


if __name__ == "__main__":
    main()
