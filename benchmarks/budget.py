"""Search under a budget: MNIST-1D (1-D MBConv space) and digits (2-D), vs random architectures in
the same budget band; and a search under a latency budget, timed on this CPU.

What it runs (each job in its own process, ``--workers`` at a time, ``--threads`` torch threads):

* ``found``: ``dnas.search`` of the MBConv space with ``cost="params"`` and a budget of 25%, 50%
  and 100% of the largest architecture's parameters, seeds 0, 1, 2; the exported architecture is
  retrained from scratch (``mbconv.eval_network``, seed = search seed) and tested; with
  ``--validation-export`` the same trained supernet is also exported with
  ``budget_export="validation"`` (moves into the band ranked by the supernet's validation loss,
  :func:`dnas.cost.validation_loss`) and that architecture retrained alike — both rules side by
  side on one search;
* ``random``: for each budget, architectures drawn uniformly from those within ±10% of it
  (:func:`dnas.cost.sample_in_band`, seeds 0..9), retrained with the same recipe (seed 0);
* ``uniform``: architectures drawn uniformly from the whole space (the frontier's background);
* ``latency``: a latency look-up table of the 1-D space built on this CPU, a search under 50% of
  the largest architecture's table latency, and the fixed model timed as a whole;
* ``oneshot`` (``--one-shot-export``): the ``found`` job's search again (the same seed: the same
  supernet, checked), its trained supernet saved under ``--work``/supernets, exported with
  ``budget_export="one-shot"`` (:meth:`dnas.cost.BudgetPenalty.search`: the band searched with
  the supernet's validation loss as the judge) and that architecture retrained alike;
* ``reseed`` (``--retrain-seeds K`` > 1): every found and random architecture retrained again so
  that each has retrain seeds 0..K-1 (found with both export rules); an architecture's score is
  its mean over those seeds, and found and random are compared on the same seeds (a retrain seed
  moves every architecture alike, so one seed per architecture mixes the seed's luck into the
  comparison). These jobs read their architecture from the finished ``found`` / ``random`` job.

Every finished job is a JSON file under ``--work`` (written atomically; a rerun skips it), and the
report (``--out``, Markdown) and the frontier plot are rewritten after each job.

Usage::

    nohup nice -n 10 python benchmarks/budget.py --workers 2 \\
        --out benchmarks/results/budget.md > runs/budget.log 2>&1 &
"""

# ruff: noqa: E402  (the imports follow the sys.path fix below)
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time

# this folder holds benchmarks/mnist1d.py, which would shadow the mnist1d package
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(
    os.path.abspath(__file__))]
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch

import dnas
from dnas.cost import BudgetPenalty, CostModel, LatencyTable, sample_in_band, validation_loss
from dnas.data import load, search_split
from dnas.runtime.atomic import atomic_write
from dnas.spaces import mbconv
from dnas.train import RetrainConfig, retrain

#: The space searched here: MBConv stages small enough for 2 shared CPU cores.
SPACE: dict[str, Any] = {
    "stem": 8,
    "stages": [{"widths": (8, 12, 16), "depths": (1, 2, 3), "stride": 2},
               {"widths": (12, 18, 24), "depths": (1, 2, 3), "stride": 2},
               {"widths": (16, 24, 32), "depths": (1, 2, 3), "stride": 2}],
}
#: name -> (``dnas.data.load`` name, its options). "mnist1d-hard" is the NAS-Bench-201 table's
#: MNIST-1D (10,000 samples: 8,000 + a 2,000-sample test set, more i.i.d. and correlated noise):
#: on the default data (1,000 test samples) the models of a band bunch within its binomial noise.
DATASETS: dict[str, tuple[str, dict[str, Any]]] = {
    "mnist1d": ("mnist1d", {}),
    "digits": ("digits", {}),
    "mnist1d-hard": ("mnist1d", {"num_samples": 10000, "iid_noise_scale": 0.05,
                                 "corr_noise_scale": 0.35}),
}
FRACTIONS = (0.25, 0.5, 1.0)
#: Random shift of the training inputs when retraining (the CLI's retrain defaults).
CROP = {"mnist1d": 4, "digits": 1, "mnist1d-hard": 4}


def _names(o: argparse.Namespace) -> list[str]:
    return o.data.split(",")


def _network(name: str) -> tuple[mbconv.MBConvNetwork, Any]:
    source, options = DATASETS[name]
    data = load(source, **options)
    net = mbconv.search_network(data.num_classes, data.in_channels, data.dim, **SPACE)
    return net, data


@functools.cache
def _test_samples(name: str) -> int:
    source, options = DATASETS[name]
    return int(load(source, **options).y_test.shape[0])


def _largest(name: str) -> float:
    net, _ = _network(name)
    return CostModel(net, "params").cost(mbconv.largest_architecture(net))


def _retrain(name: str, arch: dnas.Architecture, seed: int, o: argparse.Namespace) -> dict:
    _, data = _network(name)
    model = mbconv.eval_network(arch, seed=seed, **SPACE, num_classes=data.num_classes,
                                in_channels=data.in_channels, dim=data.dim)
    config = RetrainConfig(epochs=o.epochs, batch_size=o.batch, lr=o.lr, cutout=0,
                           crop_padding=CROP[name], flip=False, drop_path_prob=0.0, seed=seed,
                           device="cpu", amp="off", progress=False)
    augment = dnas.data.Augment(crop_padding=CROP[name], flip=False, cutout=0, dim=data.dim)
    start = time.perf_counter()
    result = retrain(model, (data.X_train, data.y_train), (data.X_test, data.y_test), config,
                     augment=augment, dim=data.dim)
    return {"test_accuracy": result.test_accuracy,
            "parameters": sum(p.numel() for p in model.parameters()),
            "retrain_seconds": time.perf_counter() - start}


def _judge(model: Any, budget: float, valid: Any, o: argparse.Namespace) -> tuple[Any, Any]:
    """The budget penalty of a trained supernet and its score (validation loss, batches of 256)
    for the export rules that ask the weights."""
    penalty = BudgetPenalty(CostModel(model, "params"), budget, o.cost_weight, o.cost_penalty)
    X, y = valid
    return penalty, validation_loss(model, [(X[i:i + 256], y[i:i + 256])
                                            for i in range(0, X.shape[0], 256)])


def _search(name: str, seed: int, o: argparse.Namespace, **cost: Any) -> tuple[Any, dict]:
    torch.manual_seed(seed)
    net, data = _network(name)  # initial weights from the seed
    train, valid = search_split(data.X_train, data.y_train, 0.5, seed=seed)
    start = time.perf_counter()
    result = dnas.search(net, train, valid, method=o.method, epochs=o.search_epochs,
                         batch_size=o.batch, arch_lr=o.arch_lr, seed=seed, device="cpu",
                         progress=False, cost_weight=o.cost_weight,
                         cost_penalty=o.cost_penalty, warmup_epochs=o.warmup_epochs, **cost)
    info = {"search_seconds": time.perf_counter() - start, "cost": result.architecture.meta[
        "cost"], "history": [{k: r[k] for k in ("epoch", "valid_acc", "expected_cost",
                                               "argmax_cost", "cost_penalty")}
                             for r in result.history]}
    if getattr(o, "validation_export", False) and cost.get("cost") == "params":
        # the other export rule on the same trained supernet and α
        start = time.perf_counter()
        penalty, score = _judge(result.model, cost["budget"], valid, o)
        alt = penalty.export(dnas.derive(result.model), score)
        info["validation_export"] = {"arch": alt.to_dict(), "cost": alt.meta["cost"],
                                     "export_seconds": time.perf_counter() - start}
    if getattr(o, "one_shot", None) is not None and cost.get("cost") == "params":
        folder = Path(o.work) / "supernets"
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(result.model.state_dict(), folder / f"{o.one_shot}.pt")
        start = time.perf_counter()
        penalty, score = _judge(result.model, cost["budget"], valid, o)
        alt = penalty.search(dnas.derive(result.model), score, samples=o.export_samples,
                             max_evaluations=o.export_evaluations,
                             generator=torch.Generator().manual_seed(seed))
        info["one_shot"] = {"arch": alt.to_dict(), "cost": alt.meta["cost"],
                            "export_seconds": time.perf_counter() - start}
    return result.architecture, info


def _source(b: int | str) -> tuple[str, int, int]:
    """A reseed job's ``b``: ``"found1-0"`` -> ("found", 1, 0) (source kind, its index, seed)."""
    head, seed = str(b).rsplit("-", 1)
    kind = head.rstrip("0123456789")
    return kind, int(head[len(kind):]), int(seed)


def job(kind: str, name: str, a: float, b: Any, o: argparse.Namespace) -> dict:
    """Run one job in this process; returns its record."""
    torch.set_num_threads(o.threads)
    largest = _largest(name)
    rec: dict[str, Any] = {"kind": kind, "data": name, "largest": largest}
    if kind == "reseed":
        src_kind, index, seed = _source(b)
        src = json.loads((Path(o.work) / "jobs" / f"{_key(src_kind, name, a, index)}.json")
                         .read_text())
        arch = dnas.Architecture.from_dict(src["arch"])
        rec.update(fraction=a, source=src_kind, index=index, seed=seed, arch=src["arch"],
                   cost=src["cost"], **_retrain(name, arch, seed, o))
        alt = src.get("validation_export")
        if alt is not None:  # the other export rule's architecture, on the same seed
            rec["validation_export"] = dict(
                same_as_probability_export=alt["same_as_probability_export"],
                **({k: rec[k] for k in ("test_accuracy", "parameters", "retrain_seconds")}
                   if alt["same_as_probability_export"] else
                   _retrain(name, dnas.Architecture.from_dict(alt["arch"]), seed, o)))
    elif kind == "found":
        budget = a * largest
        arch, info = _search(name, b, o, cost="params", budget=budget,
                             budget_export="probability")  # α's rule (the default is one-shot)
        rec.update(fraction=a, seed=b, budget=budget, arch=arch.to_dict(), **info)
        rec.update(_retrain(name, arch, b, o))
        alt = rec.get("validation_export")
        if alt is not None:  # the same architecture retrains to the same model: reuse it
            same = dnas.Architecture.from_dict(alt["arch"]) == arch
            alt.update({k: rec[k] for k in ("test_accuracy", "parameters", "retrain_seconds")}
                       if same else _retrain(name, dnas.Architecture.from_dict(alt["arch"]),
                                             b, o))
            alt["same_as_probability_export"] = same
    elif kind == "oneshot":
        budget = a * largest
        o.one_shot = _key(kind, name, a, b)
        o.validation_export = False  # the found job has it (this process's copy of o)
        prob, info = _search(name, b, o, cost="params", budget=budget,
                             budget_export="probability")
        shot = info.pop("one_shot")
        arch = dnas.Architecture.from_dict(shot["arch"])
        rec.update(fraction=a, seed=b, budget=budget, arch=shot["arch"], cost=shot["cost"],
                   export_seconds=shot["export_seconds"], probability_arch=prob.to_dict(),
                   search_seconds=info["search_seconds"], history=info["history"])
        rec.update(_retrain(name, arch, b, o))
    elif kind in ("random", "uniform"):
        net, _ = _network(name)
        gen = torch.Generator().manual_seed(1000 * b + int(100 * a))
        if kind == "random":
            band = (a * largest * 0.9, a * largest * 1.1)
            arch = sample_in_band(CostModel(net, "params"), *band, gen)
            rec.update(fraction=a, budget=a * largest)
        else:
            arch = mbconv.random_architecture(net, gen)
        rec.update(index=b, arch=arch.to_dict(),
                   cost=CostModel(net, "params").cost(arch))
        rec.update(_retrain(name, arch, 0, o))
    elif kind == "latency":
        rec.update(_latency(name, a, b, o))
    return rec


def _latency(name: str, fraction: float, seed: int, o: argparse.Namespace) -> dict:
    net, data = _network(name)
    table_path = Path(o.work) / "latency.json"
    table = LatencyTable(table_path, repeats=o.latency_repeats, clock=o.clock)
    x = data.X_train[:1]
    start = time.perf_counter()
    cm = CostModel(net, "latency", x, latency=table)
    largest_arch = mbconv.largest_architecture(net)
    lut_seconds = time.perf_counter() - start
    largest_lut = cm.cost(largest_arch)
    budget = fraction * largest_lut
    options = {"latency_table": str(table_path), "latency_repeats": o.latency_repeats,
               "latency_clock": o.clock}
    arch, info = _search(name, seed, o, cost="latency", budget=budget, cost_options=options,
                         budget_tolerance=o.latency_tolerance)
    # the found model, the largest and held-out random architectures (not the calibration's),
    # timed as whole networks in interleaved passes, as the table times
    gen = torch.Generator().manual_seed(10_000 + seed)
    held_out = [mbconv.random_architecture(net, gen) for _ in range(o.held_out)]
    archs = [arch, largest_arch, *held_out]
    nets = [mbconv.eval_network(a, seed=0, **SPACE, num_classes=data.num_classes,
                                in_channels=data.in_channels, dim=data.dim) for a in archs]
    timed = table.time_networks(nets, x, passes=o.time_passes)
    predicted = [cm.cost(a) for a in archs]
    errors = [t / p - 1 for t, p in zip(timed, predicted)]
    return {"fraction": fraction, "seed": seed, "budget": budget, "table_entries": len(table),
            "table_seconds": lut_seconds, "largest_table": largest_lut,
            "calibration": list(cm.calibration or (1.0, 0.0)),
            "largest_measured": timed[1], "arch": arch.to_dict(), "measured": timed[0],
            "relative_error": timed[0] / budget - 1, "held_out_errors": errors[2:],
            "held_out_predicted": predicted[2:], "held_out_timed": timed[2:], **info}


def jobs(o: argparse.Namespace) -> list[tuple[str, str, float, Any]]:
    out: list[tuple[str, str, float, Any]] = [
        ("latency", "mnist1d", o.latency_fraction, s) for s in range(o.latency_seeds)]
    # budgets in turn over both data sets (a run stopped early still compares found with random)
    for f in FRACTIONS:
        for name in _names(o):
            out += [("found", name, f, s) for s in range(o.seeds)]
            out += [("random", name, f, i) for i in range(o.random)]
    for name in _names(o):
        out += [("uniform", name, 0.0, i) for i in range(o.uniform)]
    if o.one_shot_export:
        for f in FRACTIONS:
            for name in _names(o):
                out += [("oneshot", name, f, s) for s in range(o.seeds)]
    # more retrain seeds for every found and random architecture (after the jobs they read)
    for f in FRACTIONS:
        for name in _names(o):
            out += [("reseed", name, f, f"{src}{s}-{t}") for s in range(o.seeds)
                    for t in range(o.retrain_seeds) if t != s
                    for src in ("found", "oneshot") if src == "found" or o.one_shot_export]
            out += [("reseed", name, f, f"random{i}-{t}") for i in range(o.random)
                    for t in range(1, o.retrain_seeds)]
    return out


def _key(kind: str, name: str, a: float, b: Any) -> str:
    return f"{kind}-{name}-{a:g}-{b}"


# ---------------------------------------------------------------------- report
def _ms(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def report(o: argparse.Namespace, records: list[dict], done: bool) -> None:
    by: dict[tuple[str, str], list[dict]] = {(r["kind"], r["data"]): [] for r in records}
    for r in records:
        by[(r["kind"], r["data"])].append(r)
    lines = [
        "# Search under a budget: widths, kernel sizes, depth (issue 13)",
        "",
        f"- Machine: {platform.machine()} Linux, {os.cpu_count()} CPU cores shared with other "
        f"jobs (load average {os.getloadavg()[0]:.1f} at the last update), torch "
        f"{torch.__version__}, CPU only. Date: {time.strftime('%Y-%m-%d')}. Status: "
        + ("complete." if done else "**in progress / partial**."),
        f"- Command: `{shlex.join(['python', 'benchmarks/budget.py', *sys.argv[1:]])}` "
        f"({o.workers} worker processes, {o.threads} torch thread(s) each).",
        f"- Space: `dnas.spaces.mbconv`, stem {SPACE['stem']}, stages "
        + "; ".join(f"widths {s['widths']} depths {s['depths']} stride {s['stride']}"
                    for s in SPACE["stages"])
        + ", per block kernel {3, 5, 7}, expansion {3, 6}, blocks after a stage's first "
        "skippable. 1-D on MNIST-1D (4000/1000, length 40), 2-D on digits (1438/359, 8×8); "
        "mnist1d-hard: the NAS-Bench-201 table's MNIST-1D (8000/2000, i.i.d. noise 0.05, "
        "correlated noise 0.35).",
        f"- Search: `dnas.search(method={o.method!r}, cost='params', budget=B, "
        f"cost_weight={o.cost_weight}, cost_penalty={o.cost_penalty!r}, "
        f"warmup_epochs={o.warmup_epochs})`, "
        f"{o.search_epochs} epochs, batch {o.batch}, Adam α lr "
        f"{o.arch_lr}, training set split 50/50 into w / α halves; export rule: argmax, moved "
        "into ±10% of B when outside (`BudgetPenalty.export`).",
        f"- Retrain (found and random alike): {o.epochs} epochs, batch {o.batch}, SGD lr {o.lr} "
        "cosine, momentum 0.9, weight decay 3e-4, random shift (MNIST-1D ±4, digits ±1), test "
        "accuracy after the last epoch. Found: retrain seed = search seed; random: seed 0"
        + (f"; then every architecture also with the other seeds of 0..{o.retrain_seeds - 1}."
           if o.retrain_seeds > 1 else "."),
        f"- Random baseline: {o.random} architectures per budget drawn uniformly among those "
        "within ±10% of it (`dnas.cost.sample_in_band`).",
        "",
    ]
    for name in _names(o):
        found, rand = by.get(("found", name), []), by.get(("random", name), [])
        if not found and not rand:
            continue
        largest = (found + rand)[0]["largest"]
        lines += [f"## {name} (largest architecture: {largest:,.0f} parameters)", "",
                  "| budget | B (params) | found params (3 seeds) | within ±10% | argmax before "
                  "the export rule | found test acc (mean ± std) | random in band: median "
                  "(min–max) | found > median: mean, seeds | one model's test-set σ |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for f in FRACTIONS:
            fr = [r for r in found if r["fraction"] == f]
            rr = [r for r in rand if r["fraction"] == f]
            if not fr and not rr:
                continue
            budget = f * largest
            within = sum(abs(r["cost"]["value"] / budget - 1) <= 0.1 for r in fr)
            accs = [r["test_accuracy"] for r in fr]
            racc = [r["test_accuracy"] for r in rr]
            med = statistics.median(racc) if racc else float("nan")
            beats = (f"{'**yes**' if statistics.mean(accs) > med else 'no'} "
                     f"({statistics.mean(accs) - med:+.4f}), {sum(a > med for a in accs)}/"
                     f"{len(accs)}" if accs and racc else "–")
            # the binomial noise of one test accuracy near the median: differences of this
            # size between two models are not resolved by this test set
            n_test = _test_samples(name)
            sigma = f"{math.sqrt(med * (1 - med) / n_test):.4f} (n={n_test})" if racc else "–"
            lines.append(
                f"| {f:.0%} | {budget:,.0f} | "
                + ", ".join(f"{r['cost']['value']:,.0f}" for r in fr)
                + f" | {within}/{len(fr)} | "
                + ", ".join(f"{r['cost']['argmax']:,.0f}" for r in fr)
                + f" | {_ms(accs)} | "
                + (f"{med:.4f} ({min(racc):.4f}–{max(racc):.4f}), n={len(racc)}" if racc
                   else "–")
                + f" | {beats} | {sigma} |")
        lines.append("")
        alts = [r for r in found if "validation_export" in r]
        if alts:
            lines += ["Export rules side by side on the same searches: `budget_export="
                      "\"probability\"` (the table above) and `\"validation\"` (moves into the "
                      "band ranked by the supernet's validation loss), each architecture retrained "
                      "alike:", "",
                      "| budget | validation export: params | within ±10% | same architecture as "
                      "the probability export | test acc: probability export | test acc: "
                      "validation export | random median | validation export > median: mean, "
                      "seeds | export s |", "|---|---|---|---|---|---|---|---|---|"]
            for f in FRACTIONS:
                fr = sorted((r for r in alts if r["fraction"] == f), key=lambda r: r["seed"])
                racc_v = [r["test_accuracy"] for r in rand if r["fraction"] == f]
                if not fr:
                    continue
                budget = f * largest
                va = [r["validation_export"] for r in fr]
                accs = [v["test_accuracy"] for v in va]
                med = statistics.median(racc_v) if racc_v else float("nan")
                beats = (f"{'**yes**' if statistics.mean(accs) > med else 'no'} "
                         f"({statistics.mean(accs) - med:+.4f}), "
                         f"{sum(a > med for a in accs)}/{len(accs)}" if racc_v else "–")
                lines.append(
                    f"| {f:.0%} | " + ", ".join(f"{v['cost']['value']:,.0f}" for v in va)
                    + f" | {sum(abs(v['cost']['value'] / budget - 1) <= 0.1 for v in va)}/"
                    f"{len(va)} | {sum(v['same_as_probability_export'] for v in va)}/{len(va)} | "
                    f"{_ms([r['test_accuracy'] for r in fr])} | {_ms(accs)} | "
                    f"{med:.4f} | {beats} | "
                    + ", ".join(f"{v['export_seconds']:.1f}" for v in va) + " |")
            lines.append("")
        lines += _paired_section(o, name, found, rand, by.get(("reseed", name), []),
                                 by.get(("oneshot", name), []))
    lat = by.get(("latency", "mnist1d"), [])
    if lat:
        lines += [f"## Latency budget (MNIST-1D, this CPU, batch 1, 1 thread, {o.clock} clock)",
                  "",
                  "| seed | budget | largest (model / timed) | found (model) | found timed | "
                  "timed vs budget | held-out: timed vs model, median abs (range) | table "
                  "entries, calibration a, b (build s) |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in lat:
            a, b = r.get("calibration", (1.0, 0.0))
            err = r.get("held_out_errors", [])
            held = (f"{statistics.median(abs(e) for e in err):.1%} ({min(err):+.1%} to "
                    f"{max(err):+.1%}), n={len(err)}" if err else "–")
            lines.append(
                f"| {r['seed']} | {r['budget'] * 1e3:.3f} ms | {r['largest_table'] * 1e3:.3f} / "
                f"{r['largest_measured'] * 1e3:.3f} ms | {r['cost']['value'] * 1e3:.3f} ms | "
                f"{r['measured'] * 1e3:.3f} ms | {r['relative_error']:+.1%} | {held} | "
                f"{r['table_entries']}, {a:.3f}, {b * 1e3:.3f} ms ({r['table_seconds']:.0f} s) |")
        lines += ["", f"Budget = {o.latency_fraction:.0%} of the largest architecture's model "
                  f"latency; the search's export band ±{o.latency_tolerance:.0%} of it. Model = "
                  "the look-up table (each block: the fastest of 3 rounds × "
                  f"{o.latency_repeats} calls, lowest of 3 sweeps) calibrated as `a · Σ blocks + "
                  "b` on 8 whole networks; timed = the fixed networks (found, largest, "
                  f"{o.held_out} held-out random architectures) in {o.time_passes} interleaved "
                  f"passes of {o.latency_repeats} calls, fastest call (`LatencyTable."
                  "time_networks`), same clock, after the search, in the same process."]
        lines.append("")
    lines += ["## Every run", "", "| kind | data | budget | seed/index | params | test acc | "
              "search s | retrain s |", "|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r["kind"] == "latency":
            continue
        c = r["cost"]["value"] if isinstance(r["cost"], dict) else r["cost"]
        kind = (f"reseed ({r['source']} {r['index']})" if r["kind"] == "reseed" else r["kind"])
        lines.append(f"| {kind} | {r['data']} | {r.get('fraction', '–')} | "
                     f"{r.get('seed', r.get('index'))} | {c:,.0f} | {r['test_accuracy']:.4f} | "
                     f"{r.get('search_seconds', 0):.0f} | {r['retrain_seconds']:.0f} |")
    lines.append("")
    png = Path(o.out).with_suffix(".png")
    if _plot(records, png, _names(o)):
        lines.insert(len(lines) - 1, f"\n![accuracy vs parameters]({png.name})\n")
    atomic_write(o.out, "\n".join(lines) + "\n")


def _seed_scores(o: argparse.Namespace, kind: str, rows: list[dict], reseeds: list[dict],
                 f: float, alt: bool = False) -> dict[int, dict[int, float]]:
    """index -> {retrain seed: test accuracy} for one budget's found (by search seed) or random
    architectures; ``alt``: the validation export's architecture."""
    def acc(r: dict) -> float | None:
        if not alt:
            return r["test_accuracy"]
        v = r.get("validation_export")
        return None if v is None else v["test_accuracy"]

    out: dict[int, dict[int, float]] = {}
    for r in rows:
        if r["fraction"] == f and (a := acc(r)) is not None:
            i = r["seed"] if kind in ("found", "oneshot") else r["index"]
            out.setdefault(i, {})[r["seed"] if kind in ("found", "oneshot") else 0] = a
    for r in reseeds:
        if r["fraction"] == f and r["source"] == kind and (a := acc(r)) is not None:
            out.setdefault(r["index"], {})[r["seed"]] = a
    k = o.retrain_seeds  # only architectures with every seed are compared
    return {i: v for i, v in out.items() if all(t in v for t in range(k))}


def _paired_section(o: argparse.Namespace, name: str, found: list[dict], rand: list[dict],
                    reseeds: list[dict], shots: list[dict]) -> list[str]:
    k = o.retrain_seeds
    if k < 2 or not reseeds:
        return []
    alts = any("validation_export" in r for r in found)
    lines = [f"Paired retrain seeds: every architecture retrained with seeds 0..{k - 1}, "
             f"scored by its mean over them (found: one mean per search seed; random: the "
             f"median of the {o.random} architectures' means); an architecture's own noise is "
             "the pooled retrain-seed σ of the random architectures / √K:", "",
             "| budget | found (probability export): mean over seeds, per search | mean ± std"
             " | above the random median: searches, mean − median"
             + (" | validation export: per search | above the median" if alts else "")
             + (" | one-shot export: per search | above the median" if shots else "")
             + " | random: median of means (min–max), n | retrain-seed σ; of a K-seed mean |",
             "|---|---|---|---|" + ("---|---|" if alts else "") + ("---|---|" if shots else "")
             + "---|---|"]
    for f in FRACTIONS:
        fs = _seed_scores(o, "found", found, reseeds, f)
        rs = _seed_scores(o, "random", rand, reseeds, f)
        if not fs or not rs:
            continue
        fm = [statistics.mean(fs[i].values()) for i in sorted(fs)]
        rm = [statistics.mean(v.values()) for v in rs.values()]
        med = statistics.median(rm)
        sd = math.sqrt(statistics.mean(statistics.variance(v.values()) for v in rs.values()))

        def above(means: list[float], med: float = med) -> str:
            n = sum(m > med for m in means)
            return (f"{'**' if n == len(means) else ''}{n}/{len(means)}"
                    f"{'**' if n == len(means) else ''}, {statistics.mean(means) - med:+.4f}")

        row = (f"| {f:.0%} | " + ", ".join(f"{m:.4f}" for m in fm) + f" | {_ms(fm)} | "
               f"{above(fm)} | ")
        if alts:
            va = _seed_scores(o, "found", found, reseeds, f, alt=True)
            vm = [statistics.mean(va[i].values()) for i in sorted(va)]
            row += (", ".join(f"{m:.4f}" for m in vm) + f" | {above(vm) if vm else '–'} | ")
        if shots:
            ss = _seed_scores(o, "oneshot", shots, reseeds, f)
            sm = [statistics.mean(ss[i].values()) for i in sorted(ss)]
            row += (", ".join(f"{m:.4f}" for m in sm) + f" | {above(sm) if sm else '–'} | ")
        row += (f"{med:.4f} ({min(rm):.4f}–{max(rm):.4f}), n={len(rm)} | "
                f"{sd:.4f}; {sd / math.sqrt(k):.4f} |")
        lines.append(row)
    return [*lines, ""]


def _plot(records: list[dict], path: Path, names: list[str]) -> bool:
    rows = [r for r in records if r["kind"] != "latency"]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    axes = axes[0]
    style = {"uniform": ("lightgray", "o", "random (whole space)"),
             "random": ("tab:blue", "o", "random within ±10% of a budget"),
             "found": ("tab:red", "*", "found by the budgeted search"),
             "oneshot": ("tab:green", "D", "found, budget_export='one-shot'")}
    for ax, name in zip(axes, names):
        for kind, (color, marker, label) in style.items():
            pts = [(r["cost"]["value"] if isinstance(r["cost"], dict) else r["cost"],
                    r["test_accuracy"]) for r in rows if r["kind"] == kind and r["data"] == name]
            if pts:
                big = kind in ("found", "oneshot")
                ax.scatter(*zip(*pts), c=color, marker=marker, s=70 if big else 25,
                           label=label, edgecolors="k" if big else "none", zorder=3)
        largest = next((r["largest"] for r in rows if r["data"] == name), None)
        if largest:
            for f in FRACTIONS:
                ax.axvline(f * largest, color="gray", lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_title(name)
        ax.set_xlabel("parameters")
        ax.set_ylabel("test accuracy")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="runs/budget")
    p.add_argument("--out", default="benchmarks/results/budget.md")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--method", default="darts")
    p.add_argument("--search-epochs", type=int, default=10)
    p.add_argument("--arch-lr", type=float, default=0.03)
    p.add_argument("--warmup-epochs", type=int, default=0,
                   help="epochs of weight training before α moves (of --search-epochs); job "
                        "files do not record it: give each setting its own --work")
    p.add_argument("--cost-weight", type=float, default=1.0)
    p.add_argument("--cost-penalty", default="abs", choices=("abs", "squared", "hinge"),
                   help="the penalty's form φ (dnas.cost.budget); job files do not record it: "
                        "give each form its own --work")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--random", type=int, default=10)
    p.add_argument("--uniform", type=int, default=8)
    p.add_argument("--latency-fraction", type=float, default=0.5)
    p.add_argument("--latency-seeds", type=int, default=3)
    p.add_argument("--latency-repeats", type=int, default=50)
    p.add_argument("--latency-tolerance", type=float, default=0.05,
                   help="the latency search's export band (the model's own error comes on top)")
    p.add_argument("--held-out", type=int, default=10,
                   help="random architectures timed beside the found one (model check)")
    p.add_argument("--time-passes", type=int, default=10)
    p.add_argument("--clock", default="process", choices=("process", "wall"),
                   help="latency clock: the process's CPU time (robust on a shared machine) or "
                   "wall-clock time")
    p.add_argument("--validation-export", action="store_true",
                   help="also export each found search with budget_export='validation' and "
                        "retrain that architecture (both rules side by side)")
    p.add_argument("--one-shot-export", action="store_true",
                   help="also run each found search again, export it with "
                        "budget_export='one-shot' and retrain that architecture")
    p.add_argument("--export-samples", type=int, default=32,
                   help="the one-shot export's uniform draws from the band")
    p.add_argument("--export-evaluations", type=int, default=128,
                   help="the one-shot export's scored architectures at most")
    p.add_argument("--retrain-seeds", type=int, default=1,
                   help="retrain every found and random architecture with seeds 0..K-1 and "
                        "compare their means (paired seeds); 1: found with its search seed, "
                        "random with seed 0")
    p.add_argument("--only", help="comma-separated job kinds to run "
                                  "(found,random,uniform,latency,oneshot,reseed)")
    p.add_argument("--data", default="mnist1d,digits",
                   help=f"comma-separated data sets to run and report ({', '.join(DATASETS)})")
    o = p.parse_args(argv)
    if o.retrain_seeds < 1:
        p.error(f"--retrain-seeds {o.retrain_seeds}: must be at least 1")
    bad = [n for n in _names(o) if n not in DATASETS]
    if bad:
        p.error(f"--data {o.data!r}: unknown {bad}; known: {', '.join(DATASETS)}")
    work = Path(o.work)
    (work / "jobs").mkdir(parents=True, exist_ok=True)
    todo = [j for j in jobs(o) if not (work / "jobs" / f"{_key(*j)}.json").exists()
            and (o.only is None or j[0] in o.only.split(","))
            ]

    def records() -> list[dict]:
        keys = {_key(*j) for j in jobs(o)}
        return [json.loads(f.read_text()) for f in sorted((work / "jobs").glob("*.json"))
                if f.stem in keys]

    report(o, records(), done=not todo)
    with ProcessPoolExecutor(o.workers) as pool:
        # reseed jobs read a finished found / random job: they go in a second round
        for phase in ([j for j in todo if j[0] != "reseed"], [j for j in todo if j[0] == "reseed"]):
            ready = [j for j in phase if j[0] != "reseed" or (work / "jobs" / (
                _key(_source(j[3])[0], j[1], j[2], _source(j[3])[1]) + ".json")).exists()]
            if len(ready) < len(phase):
                print(f"{len(phase) - len(ready)} reseed jobs skipped: their source job did not "
                      "finish", flush=True)
            futures = {pool.submit(job, *j, o): j for j in ready}
            for fut in as_completed(futures):
                j = futures[fut]
                try:
                    rec = fut.result()
                except Exception as err:  # one failed job must not stop the others
                    print(f"FAILED {_key(*j)}: {type(err).__name__}: {err}", flush=True)
                    continue
                atomic_write(work / "jobs" / f"{_key(*j)}.json", json.dumps(rec))
                print(f"done {_key(*j)}: acc={rec.get('test_accuracy', float('nan')):.4f}",
                      flush=True)
                report(o, records(), done=False)
    report(o, records(), done=all((work / "jobs" / f"{_key(*j)}.json").exists()
                                  for j in jobs(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
