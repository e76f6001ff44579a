"""Equation discovery benchmark: dnas.DARTSRegressor vs autora-theorist-darts 1.1.0 vs gplearn.

Seven laws, noise-free and with 1 % Gaussian noise on y (σ = 0.01·std(y)), 200 training points,
1000 held-out points, 3 seeds. For every fit: exact-form recovery (see ``exact_form``), held-out
R² against the noise-free law, fit time.

The peers run from a separate virtual environment (default ``/tmp/peers/eqvenv``: torch 2.13.0,
``autora-theorist-darts==1.1.0 --no-deps`` with autora-core, gplearn), one subprocess per peer
started by this script (``--peer-worker``), at the same time as dnas' own fits, so all timings
were taken under the same shared load.

    .venv/bin/python benchmarks/equations.py --out benchmarks/results/equations.md

Exact form (``exact_form``): the found expression's numeric constants (all numbers except 0 and
±1) become free parameters; the form is exact when (a) some values of them reproduce the
noise-free law to a relative RMS below 1e-6 on 2000 fresh points (least squares from the found
values and 4 perturbed starts) with no constant driven to zero (|value| > 1e-4: a term or factor
that has to vanish is one the law does not have), and (b) it has at most as many free constants
as the law has constants plus one scale per additive term of the law ("up to fitted
constants"), so an over-general form (a ratio of two linear functions for Luce's rule) does not
count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np

LAWS = {
    # name: (truth as text in x1, x2, domain per feature, n law constants, n additive terms)
    "autora-example": ("2*x1 + exp(5*x2)", [(0, 1), (0, 1)], 2, 2),
    "weber-fechner": ("2*log(x1/x2)", [(0.5, 5), (0.5, 5)], 1, 2),
    "stevens": ("1.5*x1**0.6", [(0.1, 5)], 2, 1),
    "exp-learning": ("0.9 - (0.9 - 0.2)*exp(-0.4*x1)", [(0, 10)], 3, 2),
    "luce-choice": ("x1/(x1 + x2)", [(0.1, 2), (0.1, 2)], 0, 1),
    "linear": ("3*x1 - 2*x2 + 1", [(-1, 1), (-1, 1)], 3, 3),
    "product": ("x1*x2", [(-1, 1), (-1, 1)], 0, 1),
}
SEEDS = (0, 1, 2)
NOISES = (0.0, 0.01)
N_TRAIN, N_TEST = 200, 1000
AUTORA_DOC = dict(  # the settings of AutoRA's documented example (docs/Basic Usage)
    num_graph_nodes=1, arch_updates_per_epoch=1, arch_learning_rate_max=0.001,
    param_updates_per_epoch=500, param_momentum=0.9, max_epochs=300, output_type="real",
    primitives=["none", "add", "subtract", "mult", "logistic", "exp", "relu"],
)


def law_fn(name):
    import sympy

    expr = sympy.sympify(LAWS[name][0])
    d = len(LAWS[name][1])
    xs = sympy.symbols(" ".join(f"x{i + 1}" for i in range(d)))
    xs = xs if isinstance(xs, tuple) else (xs,)
    return sympy.lambdify(xs, expr, "numpy"), expr


def make_data(name, seed, noise):
    f, _ = law_fn(name)
    dom = LAWS[name][1]
    rng = np.random.default_rng(1000 + seed)
    lo, hi = np.array([d[0] for d in dom]), np.array([d[1] for d in dom])
    X = lo + (hi - lo) * rng.uniform(size=(N_TRAIN, len(dom)))
    Xte = lo + (hi - lo) * rng.uniform(size=(N_TEST, len(dom)))
    y = f(*X.T)
    if noise:
        y = y + noise * np.std(y) * rng.standard_normal(N_TRAIN)
    return X, y, Xte, f(*Xte.T)


def r2(y, p):
    p = np.asarray(p, dtype=float).reshape(-1)
    if not np.all(np.isfinite(p)):
        return float("nan")
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - np.mean(y)) ** 2))


# ---------------------------------------------------------------------------------------- peers
def _autora_expr(est, d):
    """AutoRA's printed model (6 decimals) turned into one expression string."""
    text = est.model_repr(decimals_to_display=6)
    lines = [ln for ln in text.splitlines()[1:] if "=" in ln]
    values = {}
    for ln in lines:
        lhs, rhs = (s.strip() for s in ln.split("=", 1))
        rhs = rhs.replace("ReLU", "Max0").replace("logistic", "Logistic").replace("ln(", "log(")
        for k, v in values.items():
            rhs = rhs.replace(k, f"({v})")
        values[lhs] = rhs or "0"
    return values[lines[-1].split("=")[0].strip()]


def _gp_expr(program):
    return str(program)


def peer_worker(jobs_path):
    """Runs in the peers' venv: fit every job, print one JSON line per fit."""
    import warnings

    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    with open(jobs_path) as fh:
        jobs = json.load(fh)
    for job in jobs:
        X, y, Xte, yte = make_data(job["law"], job["seed"], job["noise"])
        t = time.perf_counter()
        try:
            if job["method"] == "autora-darts":
                import random

                from autora.theorist.darts import DARTSRegressor

                np.random.seed(job["seed"])
                torch.manual_seed(job["seed"])
                random.seed(job["seed"])
                est = DARTSRegressor(**AUTORA_DOC)
                est.fit(X, y)
                fit_s = time.perf_counter() - t
                pred = est.predict(Xte)
                expr = _autora_expr(est, X.shape[1])
            else:
                from gplearn.functions import make_function
                from gplearn.genetic import SymbolicRegressor

                kw = {}
                if job["method"] == "gplearn-logexp":
                    exp = make_function(function=lambda z: np.exp(np.clip(z, -50, 50)),
                                        name="exp", arity=1)
                    kw["function_set"] = ("add", "sub", "mul", "div", "log", exp)
                est = SymbolicRegressor(random_state=job["seed"], **kw)
                est.fit(X, y)
                fit_s = time.perf_counter() - t
                pred = est.predict(Xte)
                expr = _gp_expr(est._program)
            out = dict(job, fit_s=fit_s, r2=r2(yte, pred), expr=expr)
        except Exception as err:  # a peer crashing on a law is a result too
            out = dict(job, fit_s=time.perf_counter() - t, r2=float("nan"), expr="",
                       error=f"{type(err).__name__}: {err}"[:200])
        print(json.dumps(out), flush=True)


# ------------------------------------------------------------------------------- exact form
def to_sympy(method, text, d):
    import sympy

    xs = sympy.symbols(" ".join(f"x{i + 1}" for i in range(d)), real=True)
    xs = xs if isinstance(xs, tuple) else (xs,)
    if method.startswith("gplearn"):
        loc = {f"X{i}": xs[i] for i in range(d)}
        loc.update(add=lambda a, b: a + b, sub=lambda a, b: a - b, mul=lambda a, b: a * b,
                   div=lambda a, b: a / b, log=lambda a: sympy.log(sympy.Abs(a)),
                   exp=sympy.exp, sqrt=lambda a: sympy.sqrt(sympy.Abs(a)), neg=lambda a: -a,
                   inv=lambda a: 1 / a, abs=sympy.Abs, max=sympy.Max, min=sympy.Min,
                   sin=sympy.sin, cos=sympy.cos, tan=sympy.tan)
        return sympy.sympify(text, locals=loc)
    loc = {f"x{i + 1}": xs[i] for i in range(d)}
    loc.update(Max0=lambda a: sympy.Max(0, a), Logistic=lambda a: 1 / (1 + sympy.exp(-a)))
    return sympy.sympify(text, locals=loc)


def exact_form(expr, law, seed=0):
    """(a) the form can reproduce the law exactly, and (b) it is not over-general."""
    import sympy
    from scipy.optimize import least_squares

    _, dom, n_const, n_terms = LAWS[law]
    d = len(dom)
    xs = sympy.symbols(" ".join(f"x{i + 1}" for i in range(d)), real=True)
    xs = xs if isinstance(xs, tuple) else (xs,)
    expr = expr.subs({sympy.Symbol(f"x{i + 1}"): xs[i] for i in range(d)})
    # every occurrence counts: 1.001*x1/(x1 + 1.001*x2) has two fitted constants, not one
    occurrences = [a for a in sympy.preorder_traversal(expr)
                   if isinstance(a, sympy.Number) and a not in (0, 1, -1)]
    if len(occurrences) > n_const + n_terms:
        return False
    nums = list(dict.fromkeys(occurrences))
    thetas = sympy.symbols(f"t0:{len(nums)}")
    templ = expr.xreplace(dict(zip(nums, thetas)))
    f = sympy.lambdify([*xs, *thetas], templ, "numpy")
    truth, _ = law_fn(law)
    rng = np.random.default_rng(seed)
    lo, hi = np.array([a for a, _ in dom]), np.array([b for _, b in dom])
    X = lo + (hi - lo) * rng.uniform(size=(2000, d))
    y = truth(*X.T)
    scale = np.std(y) + 1e-12

    def res(t):
        with np.errstate(all="ignore"):
            r = np.broadcast_to(np.asarray(f(*X.T, *t), dtype=float), y.shape) - y
        return np.nan_to_num(r / scale, nan=1e6, posinf=1e6, neginf=-1e6)

    def ok(t):
        # exact, and no constant had to vanish (a term or a factor the law does not have)
        return np.sqrt(np.mean(res(t) ** 2)) < 1e-6 and (len(t) == 0 or np.min(np.abs(t)) > 1e-4)

    t0 = np.array([float(v) for v in nums])
    if ok(t0):
        return True
    for k in range(5 if len(nums) else 0):
        start = t0 if k == 0 else t0 * np.exp(0.3 * rng.standard_normal(len(t0)))
        try:
            sol = least_squares(res, start, method="lm", max_nfev=2000)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if ok(sol.x):
            return True
    return False


# ----------------------------------------------------------------------------------- driver
def run_dnas(job):
    import torch

    from dnas import DARTSRegressor

    torch.set_num_threads(1)
    X, y, Xte, yte = make_data(job["law"], job["seed"], job["noise"])
    kw = dict(AUTORA_DOC) if job["method"] == "dnas (AutoRA doc settings)" else {}
    est = DARTSRegressor(random_state=job["seed"], **kw)
    t = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t
    return dict(job, fit_s=fit_s, r2=r2(yte, est.predict(Xte)), expr=str(est.equation_))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="benchmarks/results/equations.md")
    p.add_argument("--peer-python", default="/tmp/peers/eqvenv/bin/python")
    p.add_argument("--laws", default=",".join(LAWS))
    p.add_argument("--seeds", type=int, default=len(SEEDS))
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--render",
                   help="write the table from logs (comma-separated) of this script's JSON lines")
    p.add_argument("--peer-worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.peer_worker:
        return peer_worker(a.peer_worker)
    laws = a.laws.split(",")
    grid = [(law, s, nz) for law in laws for nz in NOISES for s in range(a.seeds)]
    peers = ["autora-darts", "gplearn", "gplearn-logexp"]
    ours = [dict(method="dnas", law=law, seed=s, noise=nz) for law, s, nz in grid]
    ours += [dict(method="dnas (AutoRA doc settings)", law="autora-example", seed=s, noise=0.0)
             for s in range(a.seeds) if "autora-example" in laws]
    started = time.perf_counter()
    if a.render:
        results = []
        for path in a.render.split(","):
            with open(path) as fh:
                results += [json.loads(ln) for ln in fh if ln.startswith("{")]
        return finish(results, a, time.perf_counter() - started)
    procs = []
    for m in [] if a.no_peers else peers:  # one process per peer, beside ours
        jobs = [dict(method=m, law=law, seed=s, noise=nz) for law, s, nz in grid]
        path = f"/tmp/equations_peer_jobs_{m}.json"
        with open(path, "w") as fh:
            json.dump(jobs, fh)
        log = open(f"/tmp/equations_peer_{m}.jsonl", "w")  # noqa: SIM115 (closed after wait)
        procs.append((subprocess.Popen(
            [a.peer_python, os.path.abspath(__file__), "--peer-worker", path],
            stdout=log, stderr=subprocess.DEVNULL, text=True), log))
    results = []
    for job in ours:
        results.append(run_dnas(job))
        print(json.dumps(results[-1]), flush=True)
    for proc, log in procs:
        proc.wait()
        log.close()
        with open(log.name) as fh:
            results += [json.loads(ln) for ln in fh if ln.startswith("{")]
    return finish(results, a, time.perf_counter() - started)


def finish(results, a, total_s):
    for r in results:
        d = len(LAWS[r["law"]][1])
        try:
            expr = to_sympy(r["method"], r["expr"], d) if r["expr"] else None
            r["exact"] = expr is not None and exact_form(expr, r["law"])
        except Exception as err:  # an unparsable expression is not a recovered law
            r["exact"], r["check_error"] = False, f"{type(err).__name__}: {err}"[:200]
    write_table(results, a, total_s)


def write_table(results, a, total_s):
    import torch

    methods = list(dict.fromkeys(r["method"] for r in results))
    laws = list(dict.fromkeys(r["law"] for r in results))
    lines = [
        "# Equation discovery: dnas.DARTSRegressor vs autora-theorist-darts 1.1.0 vs gplearn",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPU cores shared with other jobs, torch {torch.__version__}, "
        "one torch thread per process",
        f"- command: `.venv/bin/python benchmarks/equations.py --seeds {a.seeds} --out {a.out}` "
        f"(total {total_s / 60:.1f} min); each peer ran in its own subprocess beside dnas' fits: "
        "four processes on two cores that other jobs also used, so every timing was taken "
        "under the same heavy load and is several times slower than on an idle machine",
        f"- {N_TRAIN} training points, {N_TEST} held-out points, seeds {list(range(a.seeds))}, "
        "noise σ = 0 and 0.01·std(y)",
        "- dnas: `DARTSRegressor(random_state=seed)` (defaults) for every law; "
        "autora-darts: its documented example's settings for every law; gplearn: "
        "`SymbolicRegressor(random_state=seed)` default, and with `log` and a protected `exp` "
        "in `function_set`",
        "- exact: recovered form (see the module docstring of benchmarks/equations.py); "
        "R²: median held-out R² against the noise-free law; time: median fit seconds",
        "",
    ]
    for noise in NOISES:
        lines.append(f"## noise {noise:g}" if noise else "## noise-free")
        lines.append("")
        head = "| law | " + " | ".join(methods) + " |"
        lines += [head, "|" + "---|" * (len(methods) + 1)]
        totals = {m: [0, 0] for m in methods}
        for law in laws:
            row = [law]
            for m in methods:
                rs = [r for r in results if r["method"] == m and r["law"] == law
                      and r["noise"] == noise]
                if not rs:
                    row.append("")
                    continue
                k = sum(r["exact"] for r in rs)
                totals[m][0] += k == len(rs)
                totals[m][1] += 1
                r2s = np.nanmedian([r["r2"] for r in rs]) if any(
                    np.isfinite(r["r2"]) for r in rs) else float("nan")
                t = np.median([r["fit_s"] for r in rs])
                row.append(f"{k}/{len(rs)} exact, R² {r2s:.6f}, {t:.1f} s")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("| laws recovered on every seed | " + " | ".join(
            f"{totals[m][0]}/{totals[m][1]}" for m in methods) + " |")
        lines.append("")
    lines += ["## every fit", "", "| method | law | noise | seed | exact | R² | s | expression |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        e = (r.get("expr") or r.get("error", ""))[:110].replace("|", "\\|")
        lines.append(f"| {r['method']} | {r['law']} | {r['noise']:g} | {r['seed']} | "
                     f"{'yes' if r['exact'] else 'no'} | {r['r2']:.6f} | {r['fit_s']:.1f} | "
                     f"`{e}` |")
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
