"""Equation discovery benchmark: dnas.DARTSRegressor (defaults) beside Operon, the Bayesian Machine
Scientist, gplearn and AutoRA's DARTS, on the laws of ``benchmarks/equation_laws.py`` (every AI
Feynman equation with at most three inputs, Nguyen-1…12, seven cognitive-science / classic laws).

Per law, noise level (0 and 1 %: y + N(0, (0.01·RMS(y))²), SRBench's definition) and seed (0-2):
200 training points drawn uniformly from the law's box, 1000 held-out points from the box, 1000
from an **extrapolation box** (each range's upper end pushed out by half its width, points with
every input inside the training box redrawn, points where the law is undefined dropped). Per fit:
SRBench's **exact recovery** (La Cava et al. 2021: the model's constants rounded to 3 significant
digits at full working precision — a value that rounds to an integer becomes that integer;
inputs sampled from positive ranges are positive symbols — and the symbolic difference
``model - law`` or ratio ``model / law`` simplifies by SymPy to a constant), held-out R² against
the noise-free law in the box and in the extrapolation box, fit seconds: wall-clock and the
process' CPU time (all its threads; on a machine shared with other jobs the CPU time is the fair
measure, and for a single-threaded fit it is what an idle core gives).

Peers (none is committed; they run from their own virtual environment, ``--peer-python``)::

    python3 -m venv /tmp/peers/eqvenv && P=/tmp/peers/eqvenv/bin/pip
    $P install torch==2.13.0            # the CPU wheel first (AutoRA's DARTS needs torch)
    $P install pyoperon gplearn sympy scipy scikit-learn pandas matplotlib tqdm graphviz \
        imageio seaborn
    $P install --no-deps autora-core autora-theorist-darts==1.1.0 autora-theorist-bms
    # (autora-core pins numpy<2: --no-deps keeps the numpy the others need; both theorists import)

* ``operon``: ``pyoperon.sklearn.SymbolicRegressor(random_state=seed)`` (defaults);
* ``bms``: ``autora.theorist.bms.BMSRegressor(epochs=100)``, ``fit(..., seed=seed)`` (its default
  1500 epochs take ~5 minutes per fit here: 72 laws x 2 noise levels x 3 seeds would take 36 h);
* ``gplearn``: ``gplearn.genetic.SymbolicRegressor(random_state=seed)`` (defaults);
* ``autora-darts``: ``autora.theorist.darts.DARTSRegressor`` with its documented example's
  settings (the settings AutoRA's docs show).

PySR is not run: it installs and starts a Julia runtime at first use, which cannot be downloaded
on this machine (no network but the package registries).

Every fit appends one JSON line to ``--results`` (default
``benchmarks/results/equations.jsonl``); a rerun skips the fits already there, so the benchmark
can be stopped and resumed. Worker processes share the jobs (each takes every n-th one, in
seed-major order so that a partial run covers every law and method on seed 0 first);
``--dnas-workers`` (default 1) run dnas, ``--peer-workers`` (default 2) the peers. The long run,
in the background at low priority::

    nohup nice -n 10 .venv/bin/python benchmarks/equations.py &
    .venv/bin/python benchmarks/equations.py --render   # tables from the JSONL so far
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from equation_laws import LAWS

SEEDS = (0, 1, 2)
NOISES = (0.0, 0.01)
N_TRAIN, N_TEST = 200, 1000
OURS = ("dnas",)
PEERS = ("operon", "bms", "gplearn", "autora-darts")
#: BMS' default is 1500 epochs, about 5 minutes per fit here (~5 epochs/s): 100 epochs keep a fit
#: near the other peers' budgets (~20-30 s)
BMS_EPOCHS = 100
AUTORA_DOC = dict(  # the settings of AutoRA's documented example (docs/Basic Usage)
    num_graph_nodes=1, arch_updates_per_epoch=1, arch_learning_rate_max=0.001,
    param_updates_per_epoch=500, param_momentum=0.9, max_epochs=300, output_type="real",
    primitives=["none", "add", "subtract", "mult", "logistic", "exp", "relu"],
)


# ------------------------------------------------------------------------------------ data
def law(name):
    import sympy

    text, box, _ = LAWS[name]
    # a variable sampled from positive values only is declared positive (a fact of the domain:
    # it lets SymPy see that log(x1) - log(x2) is log(x1/x2) there); a box from 0 up counts
    # (U[0, 1] draws 0 with probability 0: exp(x2·log x1) is x1**x2 on every sample)
    xs = tuple(sympy.Symbol(f"x{i + 1}", real=True, positive=True if lo >= 0 else None)
               for i, (lo, _) in enumerate(box))
    expr = sympy.sympify(text, locals={s.name: s for s in xs})
    return sympy.lambdify(xs, expr, "numpy"), expr, xs


def _uniform(rng, lo, hi, n):
    return lo + (hi - lo) * rng.uniform(size=(n, len(lo)))


def make_data(name, seed, noise):
    """Training set (noisy y), held-out set and extrapolation set (noise-free y)."""
    f, _, _ = law(name)
    box = LAWS[name][1]
    lo, hi = np.array([b[0] for b in box], float), np.array([b[1] for b in box], float)
    rng = np.random.default_rng(1000 + seed)

    def value(X):
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*X.T), dtype=float), (len(X),))

    X, Xte = _uniform(rng, lo, hi, N_TRAIN), _uniform(rng, lo, hi, N_TEST)
    y = value(X)
    if noise:
        y = y + noise * np.sqrt(np.mean(y ** 2)) * rng.standard_normal(N_TRAIN)
    ex_hi = hi + 0.5 * (hi - lo)
    Xex = np.empty((0, len(box)))
    for _ in range(50):
        cand = _uniform(rng, lo, ex_hi, 4 * N_TEST)
        cand = cand[(cand > hi).any(axis=1)]
        cand = cand[np.isfinite(value(cand))]
        Xex = np.vstack([Xex, cand])[:N_TEST]
        if len(Xex) == N_TEST:
            break
    return X, y, Xte, value(Xte), Xex, value(Xex)


def r2(y, p):
    p = np.asarray(p, dtype=float).reshape(-1)
    if len(y) == 0 or not np.all(np.isfinite(p)):
        return float("nan")
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - np.mean(y)) ** 2))


# -------------------------------------------------------------------------------- fitters
def fit(method, X, y, seed):
    """Fit one method; returns (model as text, predict function)."""
    if method == "dnas":
        import torch

        from dnas import DARTSRegressor

        torch.set_num_threads(1)
        est = DARTSRegressor(random_state=seed).fit(X, y)
        return str(est.equation_), est.predict
    if method == "operon":
        from pyoperon.sklearn import SymbolicRegressor

        # pyoperon 0.6.2's linear scaling takes float32 arrays only; its float32 predict path
        # returns garbage (1e27 where the model gives 0.5), its float64 one the model's values
        est = SymbolicRegressor(random_state=seed).fit(X.astype(np.float32),
                                                       y.astype(np.float32))
        names = [f"x{i + 1}" for i in range(X.shape[1])]
        return (est.get_model_string(est.model_, 12, names),
                lambda Z: est.predict(np.ascontiguousarray(Z, dtype=np.float64)))
    if method == "bms":
        from autora.theorist.bms import BMSRegressor

        est = BMSRegressor(epochs=BMS_EPOCHS).fit(X, y, seed=seed)
        text = repr(est.model_)
        for pname in est.model_.parameters:
            text = text.replace(pname, repr(float(est.model_.par_values["d0"][pname])))
        return text, est.predict
    if method == "gplearn":
        from gplearn.genetic import SymbolicRegressor

        est = SymbolicRegressor(random_state=seed).fit(X, y)
        return str(est._program), est.predict
    if method == "autora-darts":
        import random

        import torch
        from autora.theorist.darts import DARTSRegressor

        torch.set_num_threads(1)
        np.random.seed(seed)
        torch.manual_seed(seed)
        random.seed(seed)
        est = DARTSRegressor(**AUTORA_DOC).fit(X, y)
        return _autora_text(est), est.predict
    raise ValueError(f"unknown method {method!r}")


def _autora_text(est):
    """AutoRA's printed model (6 decimals) as one expression."""
    lines = [ln for ln in est.model_repr(decimals_to_display=6).splitlines()[1:] if "=" in ln]
    values = {}
    for ln in lines:
        lhs, rhs = (s.strip() for s in ln.split("=", 1))
        rhs = rhs.replace("ReLU", "Max0").replace("logistic", "Logistic").replace("ln(", "log(")
        for k, v in values.items():
            rhs = rhs.replace(k, f"({v})")
        values[lhs] = rhs or "0"
    return values[lines[-1].split("=")[0].strip()]


def to_sympy(method, text, xs):
    import sympy

    loc = {s.name: s for s in xs}
    if method == "gplearn":  # gplearn's protected functions, read as the plain ones
        loc.update({f"X{i}": s for i, s in enumerate(xs)})
        loc.update(add=lambda a, b: a + b, sub=lambda a, b: a - b, mul=lambda a, b: a * b,
                   div=lambda a, b: a / b, log=lambda a: sympy.log(sympy.Abs(a)),
                   sqrt=lambda a: sympy.sqrt(sympy.Abs(a)), neg=lambda a: -a,
                   inv=lambda a: 1 / a, abs=sympy.Abs, max=sympy.Max, min=sympy.Min)
    elif method == "bms":
        loc.update({f"X{i}": s for i, s in enumerate(xs)})
        loc.update(pow2=lambda a: a ** 2, pow3=lambda a: a ** 3,
                   fac=lambda a: sympy.gamma(a + 1), sig=lambda a: 1 / (1 + sympy.exp(-a)),
                   relu=lambda a: sympy.Max(0, a))
    elif method == "autora-darts":
        loc.update(Max0=lambda a: sympy.Max(0, a), Logistic=lambda a: 1 / (1 + sympy.exp(-a)))
    return sympy.sympify(text.replace("^", "**"), locals=loc)


# ---------------------------------------------------------------------------- exact recovery
def round_floats(expr, digits=3):
    """Every Float to ``digits`` significant digits (kept at full working precision, so that
    later arithmetic does not blur 0.999 into 1.00); integral values become Integers."""
    import sympy

    reps = {}
    for f in expr.atoms(sympy.Float):
        r = float(f"{float(f):.{digits}g}")
        reps[f] = sympy.Integer(int(r)) if r == int(r) else sympy.Float(r)
    return expr.xreplace(reps)


class _Timeout(Exception):
    pass


def exact(method, text, name, seconds=60):
    """SRBench's symbolic solution check (None when SymPy gave up within ``seconds``)."""
    import sympy

    _, truth, xs = law(name)

    def alarm(*_):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        model = round_floats(to_sympy(method, text, xs))
        for e, ratio in ((model - truth, False), (model / truth, True)):
            e = round_floats(sympy.simplify(e))
            if not e.free_symbols and not e.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) and (
                    not ratio or e != 0):
                return True
        return False
    except _Timeout:
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------------------- worker
def job_key(job):
    return (job["method"], job["law"], float(job["noise"]), int(job["seed"]))


def done_keys(path):
    if not os.path.exists(path):
        return set()
    with open(path) as fh:
        return {job_key(json.loads(ln)) for ln in fh if ln.startswith("{")}


#: address-space limit of a worker process: SymPy's simplification in the exact-recovery check
#: can expand a fitted power such as (0.01·x + 0.96)^475 until the machine runs out of memory
#: (one worker was killed at 24 GB); under the limit that check fails with a MemoryError instead
WORKER_MEMORY = 8 << 30


def worker(jobs_path, results):
    import resource
    import warnings

    warnings.filterwarnings("ignore")
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    with open(jobs_path) as fh:
        jobs = json.load(fh)
    for job in jobs:
        if job_key(job) in done_keys(results):
            continue
        X, y, Xte, yte, Xex, yex = make_data(job["law"], job["seed"], job["noise"])
        t, cpu = time.perf_counter(), time.process_time()
        try:
            text, predict = fit(job["method"], X, y, job["seed"])
            out = dict(job, fit_s=time.perf_counter() - t, cpu_s=time.process_time() - cpu,
                       expr=text)
            with np.errstate(all="ignore"):
                out.update(r2=r2(yte, predict(Xte)), r2_extra=r2(yex, predict(Xex)))
            try:
                out["exact"] = exact(job["method"], text, job["law"])
            except Exception as err:  # an unparsable model is not a recovered law
                out.update(exact=False, check_error=f"{type(err).__name__}: {err}"[:200])
        except Exception as err:  # a method crashing on a law is a result too
            out = dict(job, fit_s=time.perf_counter() - t, cpu_s=time.process_time() - cpu,
                       expr="", r2=float("nan"),
                       r2_extra=float("nan"), exact=False,
                       error=f"{type(err).__name__}: {err}"[:200])
        out["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        with open(results, "a") as fh:  # one short line per write: appends do not interleave
            fh.write(json.dumps(out) + "\n")
        print(json.dumps(out)[:200], flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default="benchmarks/results/equations.jsonl")
    p.add_argument("--out", default="benchmarks/results/equations.md")
    p.add_argument("--peer-python", default="/tmp/peers/eqvenv/bin/python")
    p.add_argument("--laws", default=",".join(LAWS))
    p.add_argument("--methods", default=",".join(OURS + PEERS))
    p.add_argument("--seeds", type=int, default=len(SEEDS))
    p.add_argument("--noises", default=",".join(map(str, NOISES)),
                   help="comma-separated noise levels (default 0.0,0.01)")
    p.add_argument("--dnas-workers", type=int, default=1, help="processes for dnas' fits")
    p.add_argument("--peer-workers", type=int, default=2, help="processes for the peers' fits")
    p.add_argument("--render", action="store_true", help="only write the tables")
    p.add_argument("--recheck", action="store_true",
                   help="recompute the exact-recovery check of every stored fit, then render")
    p.add_argument("--drop", default="",
                   help="methods whose stored fits are removed first (comma-separated)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        return worker(a.worker, a.results)
    if a.drop or a.recheck:
        rewrite(a.results, set(a.drop.split(",")) - {""}, a.recheck)
    if not a.render and not a.recheck:
        run(a)
    from equation_report import render

    render(a.results, a.out)


def rewrite(path, drop, recheck):
    """Remove the fits of the methods in ``drop``; with ``recheck``, recompute every remaining
    fit's exact-recovery check with the current checker (the file is replaced atomically)."""
    import warnings

    warnings.filterwarnings("ignore")
    if not os.path.exists(path):
        return
    with open(path) as fh:
        rows = [json.loads(ln) for ln in fh if ln.startswith("{")]
    out = []
    for row in rows:
        if row["method"] in drop:
            continue
        if recheck and row.get("expr") and "error" not in row:
            try:
                row["exact"] = exact(row["method"], row["expr"], row["law"])
                row.pop("check_error", None)
            except Exception as err:
                row.update(exact=False, check_error=f"{type(err).__name__}: {err}"[:200])
        out.append(row)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in out)
    os.replace(tmp, path)


def run(a):
    methods, laws = a.methods.split(","), a.laws.split(",")
    done = done_keys(a.results)
    noises = [float(v) for v in a.noises.split(",")]
    jobs = [dict(method=m, law=name, noise=nz, seed=s) for s in range(a.seeds) for nz in noises
            for name in laws for m in methods]
    jobs = [j for j in jobs if job_key(j) not in done]
    procs = []
    for ours, n in ((True, a.dnas_workers), (False, a.peer_workers)):
        part = [j for j in jobs if (j["method"] in OURS) == ours]
        for w in range(n if part else 0):  # dnas in this interpreter, peers in theirs
            path = f"/tmp/equations_jobs_{os.getpid()}_{int(ours)}_{w}.json"
            with open(path, "w") as fh:
                json.dump(part[w::n], fh)
            python = sys.executable if ours else a.peer_python
            procs.append(subprocess.Popen([python, os.path.abspath(__file__), "--worker", path,
                                           "--results", os.path.abspath(a.results)]))
    for proc in procs:
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())

