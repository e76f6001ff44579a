"""Search throughput on an accelerator: CIFAR-shaped images per second of a search iteration.

One iteration = one α step (on a validation batch) + one weight step (on a training batch), as in
DARTS' Algorithm 1. Images/s counts training images (``batch`` per iteration), so a 50-epoch
CIFAR-10 search (25,000 training images per epoch, the other 25,000 feed α) takes
``50 * ceil(25000 / batch)`` iterations; the projection below is that count times the median
iteration time.

Variants: float32; bf16 autocast; bf16 + channels-last; bf16 + channels-last + torch.compile
(``nn.Module.compile`` on the network's forward, as ``dnas search --compile`` does); and second
order in float32.

    python benchmarks/search_throughput.py --device cuda            # C=16, 8 cells, batch 64
    python benchmarks/search_throughput.py --device cpu -C 4 --layers 2 --batch 8 --iters 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from dnas.bilevel import SearchConfig, Searcher
from dnas.spaces.darts import search_network
from dnas.train.accel import autocast, compile_forward, to_channels_last


def timed_iterations(searcher: Searcher, batches, iters: int, warmup: int, device) -> list[float]:
    def one(tb, vb):
        searcher.arch_step(tb, vb)
        searcher.weight_step(tb)

    for i in range(warmup):
        one(*batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    times = []
    for i in range(iters):
        tb, vb = batches[i % len(batches)]
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            one(tb, vb)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            one(tb, vb)
            times.append(time.perf_counter() - t0)
    return times


def run_variant(name: str, args, order: int, amp: bool, channels_last: bool, compile_: bool):
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = search_network(C=args.C, layers=args.layers, num_classes=10, dim=2)
    g = torch.Generator().manual_seed(0)
    n = args.batch * 4
    X = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    cfg = SearchConfig.for_method(
        "darts", order=order, epochs=1, batch_size=args.batch, device=str(device), progress=False
    )
    searcher = Searcher(net, (X, y), (X, y), cfg)
    if channels_last:
        to_channels_last(searcher.model, 2)
    if compile_:
        compile_forward(searcher.model)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    batches = []
    for i in range(4):
        sl = slice(i * args.batch, (i + 1) * args.batch)
        xb = X[sl].to(device).contiguous(memory_format=fmt)
        batches.append(((xb, y[sl].to(device)), (xb.flip(0), y[sl].flip(0).to(device))))
    with autocast(device, torch.bfloat16 if amp else None):
        times = timed_iterations(
            searcher, batches, args.iters, args.warmup + (3 if compile_ else 0), device
        )
    med = statistics.median(times)
    iters_50 = 50 * math.ceil(25000 / args.batch)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else math.nan
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    return {
        "variant": name,
        "order": order,
        "median_s": med,
        "images_per_s": args.batch / med,
        "projected_50_epochs_h": iters_50 * med / 3600,
        "peak_mib": peak,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("-C", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    args = p.parse_args()
    variants = [
        ("float32", 1, False, False, False),
        ("bf16 autocast", 1, True, False, False),
        ("bf16 + channels_last", 1, True, True, False),
    ]
    variants.append(("float32, second order", 2, False, False, False))
    if not args.no_compile:  # last: its compile time may not fit a short lease
        variants.append(("bf16 + channels_last + compile", 1, True, True, True))
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(
        f"device: {name}; torch {torch.__version__}; C={args.C}, layers={args.layers}, "
        f"batch={args.batch}; median of {args.iters} iterations after warm-up"
    )
    print(
        "| variant | order | median s/iter | train images/s | projected 50-epoch search (h) "
        "| peak MiB |"
    )
    print("|---|---|---|---|---|---|")
    for v in variants:
        r = run_variant(v[0], args, *v[1:])
        print(
            f"| {r['variant']} | {r['order']} | {r['median_s']:.4f} | {r['images_per_s']:.0f} "
            f"| {r['projected_50_epochs_h']:.2f} | {r['peak_mib']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
