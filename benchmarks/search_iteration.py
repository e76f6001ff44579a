"""Time one DARTS search iteration: dnas against the supernet's own floor and the official code.

An iteration of DARTS' Algorithm 1 is an α step on a validation batch, then a w step on a training
batch. Its cost in plain forward+backward passes of the supernet ("the floor"):

* weight step ...................... 1 pass  (∇_w L_train)
* first-order α step ............... 1 pass  (∇_α L_val)
* second-order α step .............. 4 passes (∇_w L_train for the virtual step w'; ∇_α, ∇_w' L_val
                                      at w'; ∇_α L_train at w⁺ and at w⁻, eq. 8)
* first-order iteration ............ 2 passes;   second-order iteration ...... 5 passes

One *pass* is measured here as ``zero_grad(set_to_none=True); cross_entropy(model(x), y)
.backward()`` on the dnas supernet in train mode (every parameter, w and α, gets its gradient; no
optimiser step), and the floor of a phase is its pass count times the median pass. The ratios
phase / floor show the overhead of the search machinery. The official code (github quark0/darts,
``cnn/``, patched by ``benchmarks/peers/prepare_official_darts.py``) runs in the same process, on
the same batches, at the same thread count, its phases interleaved with dnas' (the order flips
every iteration) so that load from other work on the machine hits both alike:
``architect.step(..., unrolled=False/True)`` then the weight step of its ``train_search.py``.

On a CPU each phase is timed twice: process CPU time (``time.process_time``; the primary number
on a machine shared with other work, where wall time also counts the waits for a core) and wall
time. A full iteration is the α step plus the weight step that follows it, each timed as run.
The last lines give images/s and the projected wall time of DARTS' 50-epoch CIFAR-10 search
(25,000 training images per epoch) at the measured iteration time.

Data are random CIFAR-shaped batches (3×32×32, 10 classes). Settings are DARTS' (SGD lr 0.025,
momentum 0.9, weight decay 3e-4, clip 5; Adam 3e-4 for α). On CUDA every phase is bracketed by
``torch.cuda.synchronize()`` (wall time of the whole phase, host work included), both codes get
``cudnn.benchmark = True`` as ``train_search.py`` sets, and the official code's tensors go to the
GPU through ``torch.device`` around its constructors.

Usage::

    python benchmarks/search_iteration.py --threads 1 --config 8:5:16 --config 16:8:32:3:1
    python benchmarks/search_iteration.py --device cuda --config 16:8:64 --iters 20 --orders 1

A setting is ``C:layers:batch[:iters[:warmup]]``; ``--time-limit`` caps the seconds per setting.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from dnas.bilevel.config import SearchConfig
from dnas.bilevel.loop import Searcher, resolve_device
from dnas.spaces.darts import search_network

PASSES = {"weight": 1, "arch1": 1, "arch2": 4, "iter1": 2, "iter2": 5}
LABELS = {"weight": "weight step", "arch1": "α step, 1st order", "arch2": "α step, 2nd order",
          "iter1": "iteration, 1st order", "iter2": "iteration, 2nd order"}
W_LR, MOMENTUM, W_DECAY, CLIP, A_LR, A_DECAY = 0.025, 0.9, 3e-4, 5.0, 3e-4, 1e-3
MIN_ITERS = 3  # fewest timed iterations a --time-limit may leave
TRAIN_IMAGES, EPOCHS = 25_000, 50  # DARTS' CIFAR-10 search: half of the training set, 50 epochs


@dataclass(frozen=True)
class Setting:
    C: int
    layers: int
    batch: int
    iters: int
    warmup: int


def parse_setting(text: str, iters: int, warmup: int) -> Setting:
    parts = text.split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (3, 4, 5) or min(values) < 0 or min(values[:3]) < 1:
        raise ValueError(f"--config={text!r} must be C:layers:batch[:iters[:warmup]] (integers)")
    values += [iters, warmup][len(values) - 3:]
    if values[3] < 1 or values[4] < 1:
        raise ValueError(f"--config={text!r}: iters and warmup must be >= 1 (the second-order "
                         "step needs the momentum buffers of a warm-up weight step)")
    return Setting(*values)


class Dnas:
    """dnas through its public pieces: two Searchers (order 1 and 2), each on its own supernet."""

    def __init__(self, s: Setting, device: torch.device, seed: int) -> None:
        data = (torch.zeros(s.batch, 3, 32, 32), torch.zeros(s.batch, dtype=torch.long))
        self.searchers = {}
        for order in (1, 2):
            torch.manual_seed(seed)  # identical initial weights and α
            cfg = SearchConfig.for_method(
                "darts", order=order, batch_size=s.batch, device=str(device), seed=seed,
                w_lr=W_LR, w_momentum=MOMENTUM, w_weight_decay=W_DECAY, grad_clip=CLIP,
                arch_lr=A_LR, arch_weight_decay=A_DECAY, progress=False,
            )
            model = search_network(C=s.C, layers=s.layers, num_classes=10).train()
            self.searchers[order] = Searcher(model, data, data, cfg)
        self.model = self.searchers[1].model

    def arch(self, order: int, train, valid) -> None:
        self.searchers[order].arch_step(train, valid)

    def weight(self, order: int, train) -> None:
        self.searchers[order].weight_step(train)

    def floor(self, train) -> None:
        plain_pass(self.model, train)


class Official:
    """The official code as its ``train_search.py`` drives it."""

    def __init__(self, s: Setting, device: torch.device, seed: int, checkout: Path) -> None:
        cnn = checkout / "cnn" if (checkout / "cnn").is_dir() else checkout
        if not (cnn / "architect.py").is_file():
            raise ValueError(f"--official={str(checkout)!r} holds no cnn/architect.py; clone "
                             "github.com/quark0/darts there and run prepare_official_darts.py")
        sys.path.insert(0, str(cnn))
        try:
            from architect import Architect  # the peer's module, found at run time
            from model_search import Network
        finally:
            sys.path.remove(str(cnn))
        torch.manual_seed(seed)
        self.criterion = nn.CrossEntropyLoss()
        with torch.device(device):
            self.model = Network(s.C, 10, s.layers, self.criterion).train()
        if device.type != "cpu":  # the unrolled model is rebuilt every step: build it there too
            new = self.model.new

            def new_on_device():
                with torch.device(device):
                    return new()

            self.model.new = new_on_device
        self.optimizer = torch.optim.SGD(self.model.parameters(), W_LR, momentum=MOMENTUM,
                                         weight_decay=W_DECAY)
        args = SimpleNamespace(momentum=MOMENTUM, weight_decay=W_DECAY,
                               arch_learning_rate=A_LR, arch_weight_decay=A_DECAY)
        self.architect = Architect(self.model, args)

    def arch(self, order: int, train, valid) -> None:
        self.architect.step(*train, *valid, W_LR, self.optimizer, unrolled=order == 2)

    def weight(self, order: int, train) -> None:
        x, y = train
        self.optimizer.zero_grad()
        loss = self.criterion(self.model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()

    def floor(self, train) -> None:
        plain_pass(self.model, train)


def plain_pass(model: nn.Module, batch) -> None:
    """The unit of the floor: one forward and backward pass, nothing else."""
    x, y = batch
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


def run_setting(s: Setting, device: torch.device, orders: list[int], checkout: Path | None,
                seed: int, time_limit: float | None = None) -> dict[str, dict[str, list[float]]]:
    """Times per implementation and phase: ``{"dnas": {"weight": [...], ...}, ...}``.

    With ``time_limit`` (seconds from the start of the setting), timed iterations stop early once
    it has passed and at least ``MIN_ITERS`` were timed; the report states the count.
    """
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    impls = {"dnas": Dnas(s, device, seed)}
    if checkout is not None:
        impls["official"] = Official(s, device, seed, checkout)
    g = torch.Generator().manual_seed(seed)
    pool = [tuple(t.to(device) for t in (torch.randn(s.batch, 3, 32, 32, generator=g),
                                         torch.randint(0, 10, (s.batch,), generator=g)))
            for _ in range(4)]
    times: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in impls}

    def timed(fn, *a) -> tuple[float, float]:
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        fn(*a)
        sync()
        return time.perf_counter() - t0, time.process_time() - c0

    for i in range(s.warmup + s.iters):
        if deadline is not None and i >= s.warmup + MIN_ITERS and time.perf_counter() > deadline:
            break
        train, valid = pool[i % 4], pool[(i + 1) % 4]
        names = list(impls) if i % 2 == 0 else list(reversed(impls))  # alternate who goes first
        rows: dict[str, dict[str, tuple[float, float]]] = {k: {} for k in impls}
        for name in names:
            rows[name]["floor"] = timed(impls[name].floor, train)
        for order in orders:
            for name in names:
                impl, row = impls[name], rows[name]
                row[f"arch{order}"] = a = timed(impl.arch, order, train, valid)
                w = timed(impl.weight, order, train)
                row[f"iter{order}"] = (a[0] + w[0], a[1] + w[1])  # the loop: α step, w step
                row.setdefault("weight", w)
        if i >= s.warmup:
            for name, row in rows.items():
                for phase, (wall, cpu) in row.items():
                    times[name][phase].append(wall)
                    times[name][phase + "_cpu"].append(cpu)
        print(f"  [{i + 1}/{s.warmup + s.iters}{' warm-up' if i < s.warmup else ''}] "
              + "  ".join(f"{n}: " + " ".join(f"{p}={t[0]:.3f}/{t[1]:.3f}" for p, t in r.items())
                          for n, r in rows.items()) + "  (wall/CPU s)",
              file=sys.stderr, flush=True)
    return times


def report(s: Setting, times: dict, orders: list[int], clocks: list[str]) -> list[str]:
    """Markdown tables of medians and ratios; one table per clock (``""`` wall, ``"_cpu"``)."""
    med = {k: {p: statistics.median(v) for p, v in t.items()} for k, t in times.items()}
    has_official = "official" in med
    lines = [f"### C={s.C}, layers={s.layers}, batch={s.batch}", "",
             f"Medians of {len(times['dnas']['floor'])} timed iterations after {s.warmup} "
             "warm-up ones."]
    phases = ["weight"] + [f"arch{o}" for o in orders] + [f"iter{o}" for o in orders]
    for clock in clocks:
        floor = med["dnas"]["floor" + clock]
        what = "process CPU time" if clock else "wall time"
        lines += ["", f"{what}: one plain pass (the floor unit) = {floor:.3f} s on the dnas "
                  "supernet" + (f", {med['official']['floor' + clock]:.3f} s on the official one"
                                if has_official else ""), ""]
        head = f"| phase ({what}) | floor passes | dnas (s) | dnas / floor |"
        rule = "|---|---|---|---|"
        if has_official:
            head += " official (s) | official / floor | dnas / official |"
            rule += "---|---|---|"
        lines += [head, rule]
        for p in phases:
            d = med["dnas"][p + clock]
            line = f"| {LABELS[p]} | {PASSES[p]} | {d:.3f} | {d / (PASSES[p] * floor):.2f} |"
            if has_official:
                o = med["official"][p + clock]
                line += f" {o:.3f} | {o / (PASSES[p] * floor):.2f} | {d / o:.2f} |"
            lines.append(line)
    per_epoch = math.ceil(TRAIN_IMAGES / s.batch)
    lines.append("")
    for o in orders:
        t = med["dnas"][f"iter{o}"]
        lines.append(
            f"- dnas, order {o}, wall: {s.batch / t:.1f} training images/s ({2 * s.batch / t:.1f} "
            f"counting the validation batch); projected {EPOCHS}-epoch CIFAR-10 search "
            f"({per_epoch} iterations/epoch × {EPOCHS}): {per_epoch * EPOCHS * t / 3600:.2f} h")
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} logical CPUs, {platform.system()}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # write then rename: never a half-written report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time one DARTS search iteration (see module doc).")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--config", action="append", default=None,
                   help="C:layers:batch[:iters[:warmup]], repeatable (default 8:5:16)")
    p.add_argument("--iters", type=int, default=10, help="timed iterations (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up iterations (default 3)")
    p.add_argument("--orders", default="1,2", help="'1', '2' or '1,2' (default)")
    p.add_argument("--official", type=Path, default=Path("/tmp/peers/darts"),
                   help="patched checkout of github.com/quark0/darts (default /tmp/peers/darts)")
    p.add_argument("--no-official", action="store_true", help="time dnas only")
    p.add_argument("--time-limit", type=float, default=None,
                   help=f"seconds per setting after which timing stops (>= {MIN_ITERS} timed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="also write the markdown report here")
    args = p.parse_args(argv)
    try:
        device = resolve_device(args.device)
        if args.threads < 1:
            raise ValueError(f"--threads={args.threads} must be >= 1")
        orders = sorted({int(o) for o in args.orders.split(",") if o.strip()})
        if not orders or set(orders) - {1, 2}:
            raise ValueError(f"--orders={args.orders!r} must list 1 and/or 2")
        settings = [parse_setting(c, args.iters, args.warmup) for c in args.config or ["8:5:16"]]
    except ValueError as e:
        p.error(str(e))
    torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    checkout = None if args.no_official else args.official
    lines = [
        "# One DARTS search iteration: dnas vs the floor vs the official code", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()}; device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        f"- torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}",
        f"- command: `python benchmarks/search_iteration.py {' '.join(argv or sys.argv[1:])}`",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", "",
    ]
    for i, s in enumerate(settings):
        print(f"C={s.C} layers={s.layers} batch={s.batch}", file=sys.stderr, flush=True)
        try:
            times = run_setting(s, device, orders, checkout, args.seed, args.time_limit)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        clocks = ["_cpu", ""] if device.type == "cpu" else [""]
        lines += [*report(s, times, orders, clocks), ""]
        last = i == len(settings) - 1
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        tail = f"- load average at end: {load}" if last else "(more settings to come)"
        text = "\n".join([*lines, tail]) + "\n"
        if args.out is not None:  # after every setting, so a long run keeps what it measured
            _write(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
