"""Peak memory and time of one search step vs the number of candidates per choice.

One step = an α step (first order: forward + backward with α requiring a gradient, on a
validation batch) followed by a weight step (forward + backward, α frozen), on a LayerChoice of N
candidates ``conv3x3 -> BN -> ReLU`` (C channels) between a stem and a head, at fixed batch.

Memory measure:
* ``--device cpu``: the PyTorch profiler with ``profile_memory=True`` records every CPU
  allocation and free of the step as ``[memory]`` events (size > 0 allocated, < 0 freed). The
  peak is the maximum of their running sum in time order, i.e. the peak of bytes allocated by
  the step above what was live before it (parameters, inputs and optimiser state excluded).
* ``--device cuda``: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``,
  minus the bytes allocated before the step (same meaning).

Time: median wall time of ``--repeats`` steps (after one warm-up step).

    python benchmarks/memory.py --device cpu --out benchmarks/results/memory.md
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import datetime, timezone

import torch
from torch import nn

import dnas


def build(n: int, c: int, classes: int = 10) -> nn.Module:
    ops = {f"conv{j}": nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False),
                                     nn.BatchNorm2d(c), nn.ReLU()) for j in range(n)}
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), dnas.LayerChoice(ops, label="op"),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def step(model, x, y, gen):
    alphas = list(dnas.arch_parameters(model))
    loss_fn = nn.functional.cross_entropy
    dnas.resample(model, gen)
    for a in alphas:
        a.requires_grad_(True)
    grads = torch.autograd.grad(loss_fn(model(x), y), alphas)  # α step (first order)
    dnas.resample(model, gen)
    for a in alphas:
        a.requires_grad_(False)
    loss_fn(model(x), y).backward()  # weight step
    for a in alphas:
        a.requires_grad_(True)
    return grads


def peak_cpu(fn) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # raw allocator records (kineto): every allocation (+bytes) and free (-bytes) of the step
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for e in events:
        live += e.nbytes()
        peak = max(peak, live)
    return peak


def peak_cuda(fn, device) -> int:
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base


def measure(method, n, args, device):
    torch.manual_seed(0)
    model = build(n, args.channels).to(device)
    options = {"num_eval": 2} if method == "binary-masked" else {}
    dnas.relax(model, method, **options)
    model.to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)

    def run():
        step(model, x, y, gen)
        model.zero_grad(set_to_none=True)

    run()  # warm-up
    peak = peak_cuda(run, device) if device.type == "cuda" else peak_cpu(run)
    times = []
    for _ in range(args.repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t)
    return peak, statistics.median(times)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--candidates", type=int, nargs="+", default=[4, 8, 16, 32])
    p.add_argument("--methods", nargs="+", default=["darts", "binary", "binary-masked"])
    p.add_argument("--threads", type=int, default=1, help="CPU threads (1: steadier timings)")
    p.add_argument("--out", default=None, help="write a Markdown fragment here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = {}
    for m in args.methods:
        for n in args.candidates:
            rows[m, n] = measure(m, n, args, device)
            print(f"{m:14s} N={n:3d} peak={rows[m, n][0] / 2**20:8.2f} MiB "
                  f"time={rows[m, n][1] * 1e3:8.1f} ms", flush=True)
    lo, hi = args.candidates[0], args.candidates[-1]
    lines = [
        "## Memory of one search step vs candidates per choice",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, "
        f"device {device}, torch {torch.__version__}; "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Command: `python benchmarks/memory.py --device {args.device} --batch {args.batch} "
        f"--channels {args.channels} --size {args.size} --repeats {args.repeats} "
        f"--threads {args.threads}`",
        "",
        "One step = α step (first order) + weight step; N candidates conv3x3-BN-ReLU, "
        f"batch {args.batch}, {args.channels} channels, {args.size}x{args.size}. Peak = bytes "
        "allocated by the step above what was live before it (CPU: profiler memory events; "
        "CUDA: max_memory_allocated). binary-masked uses num_eval=2. Time: median of "
        f"{args.repeats}.",
        "",
        "| method | " + " | ".join(f"N={n} peak MiB" for n in args.candidates)
        + f" | peak N={hi}/N={lo} | " + " | ".join(f"N={n} ms" for n in args.candidates)
        + f" | time N={hi}/N={lo} |",
        "|" + "---|" * (2 * len(args.candidates) + 3),
    ]
    for m in args.methods:
        peaks = [rows[m, n][0] / 2**20 for n in args.candidates]
        times = [rows[m, n][1] * 1e3 for n in args.candidates]
        lines.append(
            f"| {m} | " + " | ".join(f"{v:.2f}" for v in peaks)
            + f" | {peaks[-1] / peaks[0]:.2f}x | " + " | ".join(f"{v:.1f}" for v in times)
            + f" | {times[-1] / times[0]:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        import os

        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
