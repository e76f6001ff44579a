"""Time a DARTS search iteration and a retraining step under the accelerator options.

Variants: float32, bf16 autocast, channels-last, both, and (``--compile``) both + torch.compile.
A search iteration is one α step (first or second order) and one w step on CIFAR-shaped random
data already on the device; a retraining step is one SGD step of the evaluation network (DARTS_V2,
auxiliary head, drop path). Each variant runs ``--warmup`` untimed iterations, then ``--steps``
timed ones between two device synchronisations; one JSON line per variant.

    python benchmarks/accel_options.py --device cuda --order 1 --compile
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from dnas.bilevel import SearchConfig, Searcher
from dnas.spaces.darts import eval_network, genotype, search_network
from dnas.train.accel import autocast, compile_forward, to_channels_last


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def search_iteration(args, device, amp, channels_last, compile_) -> float:
    torch.manual_seed(0)
    n = args.batch * (args.steps + args.warmup)
    X = torch.randn(2 * n, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (2 * n,), device=device)
    model = search_network(C=args.C, layers=args.layers, num_classes=10)
    config = SearchConfig(order=args.order, epochs=1, batch_size=args.batch, device=str(device),
                          progress=False)
    s = Searcher(model, (X[:n], y[:n]), (X[n:], y[n:]), config)
    if channels_last:
        to_channels_last(s.model, 2)
    if compile_:
        compile_forward(s.model)
    s.model.train()

    def step():
        tb, vb = s.train.next(), s.valid.next()
        s.arch_step(tb, vb)
        s.weight_step(tb)

    with autocast(device, torch.bfloat16 if amp else None):
        for _ in range(args.warmup):
            step()
        _sync(device)
        t = time.perf_counter()
        for _ in range(args.steps):
            step()
        _sync(device)
    return (time.perf_counter() - t) / args.steps


def retrain_step(args, device, amp, channels_last, compile_) -> float:
    torch.manual_seed(0)
    model = eval_network(genotype("DARTS_V2"), C=36, layers=20, drop_path_prob=0.2).to(device)
    if channels_last:
        to_channels_last(model, 2)
    if compile_:
        compile_forward(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    x = torch.randn(96, 3, 32, 32, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (96,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast(device, torch.bfloat16 if amp else None):
            logits, aux = model(x)
            loss = F.cross_entropy(logits, y) + 0.4 * F.cross_entropy(aux, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    for _ in range(args.warmup):
        step()
    _sync(device)
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(device)
    return (time.perf_counter() - t) / args.steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--order", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--what", default="search,retrain")
    args = p.parse_args()
    device = torch.device(args.device)
    variants = [(False, False, False), (True, False, False), (False, True, False),
                (True, True, False)]
    if args.compile:
        variants.append((True, True, True))
    for what in args.what.split(","):
        fn = search_iteration if what == "search" else retrain_step
        for amp, cl, comp in variants:
            sec = fn(args, device, amp, cl, comp)
            batch = args.batch if what == "search" else 96
            print(json.dumps({
                "what": what, "order": args.order if what == "search" else None,
                "bf16": amp, "channels_last": cl, "compile": comp, "ms": round(sec * 1e3, 2),
                "images_per_s": round(batch / sec, 1),
                "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            }), flush=True)


if __name__ == "__main__":
    main()
