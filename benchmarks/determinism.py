"""Does one fit give one equation? DARTSRegressor on the same data and ``random_state`` in several
fresh processes, each with its own string-hash seed (``PYTHONHASHSEED``) and so its own memory
layout (the last bits of NumPy's and BLAS's sums follow the alignment of the arrays).

The data are those of ``benchmarks/equations.py`` (``make_data``). Per law it prints the distinct
equations the processes gave and the fit CPU seconds; the report is a Markdown table::

    python benchmarks/determinism.py --laws II.10.9,Nguyen-11,luce-choice --noise 0.01 \\
        --processes 3 --out benchmarks/results/determinism.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent

_FIT = """
import json, sys, time
import torch
torch.set_num_threads(1)
sys.path.insert(0, {here!r})
from equations import make_data
from dnas import DARTSRegressor
X, y = make_data({law!r}, {seed}, {noise})[:2]
t = time.process_time()
est = DARTSRegressor(random_state={seed}).fit(X, y)
print(json.dumps({{"equation": str(est.equation_), "cpu_s": time.process_time() - t}}))
"""


def fit_in_process(law: str, seed: int, noise: float, hash_seed: int) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "OPENBLAS_NUM_THREADS": "1"}
    code = _FIT.format(here=str(HERE), law=law, seed=seed, noise=noise)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        return {"equation": f"error: {done.stderr.strip().splitlines()[-1:]}", "cpu_s": 0.0}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--laws", required=True, help="comma-separated names of equation_laws.py")
    p.add_argument("--noise", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--processes", type=int, default=3, help="fresh processes per law")
    p.add_argument("--workers", type=int, default=2, help="processes at a time")
    p.add_argument("--out", default=None, help="Markdown report (default: print only)")
    a = p.parse_args()
    if a.processes < 2:
        p.error(f"--processes must be at least 2 to compare, got {a.processes}")
    laws = [name for name in a.laws.split(",") if name]
    sys.path.insert(0, str(HERE))
    from equation_laws import LAWS

    unknown = [name for name in laws if name not in LAWS]
    if not laws or unknown:
        p.error(f"--laws must name laws of benchmarks/equation_laws.py, got {unknown or a.laws!r}")
    if not a.noise >= 0:
        p.error(f"--noise must be a fraction >= 0, got {a.noise}")
    jobs = [(law, h) for law in laws for h in range(1, a.processes + 1)]
    with ThreadPoolExecutor(max_workers=max(1, a.workers)) as pool:
        results = list(pool.map(lambda j: fit_in_process(j[0], a.seed, a.noise, j[1]), jobs))
    lines = ["| law | processes | distinct equations | equation(s) | CPU s (each) |",
             "|---|---|---|---|---|"]
    agreed = 0
    for law in laws:
        rows = [r for (name, _), r in zip(jobs, results) if name == law]
        distinct = sorted({r["equation"] for r in rows})
        agreed += len(distinct) == 1
        shown = " / ".join(f"`{e}`" for e in distinct)
        times = ", ".join(f"{r['cpu_s']:.1f}" for r in rows)
        lines.append(f"| {law} | {len(rows)} | {len(distinct)} | {shown} | {times} |")
    summary = (f"{agreed}/{len(laws)} laws gave one equation in all {a.processes} processes "
               f"(noise {a.noise}, seed {a.seed}).")
    report = "\n".join([summary, "", *lines, ""])
    print(report)
    if a.out:
        Path(a.out).write_text(report)


if __name__ == "__main__":
    main()
