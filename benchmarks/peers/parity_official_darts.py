"""Parity with the official DARTS code: the same network, weights, α, optimiser state and batches
give the same architecture gradient, first order and second order (Liu et al., 2019, eqs. 6-8).

The official ``Architect`` (github.com/quark0/darts, ``cnn/architect.py``, patched by
``prepare_official_darts.py``) unrolls a copy of the model and takes the finite-difference
Hessian-vector product by editing weights in place; dnas does the same math functionally
(:func:`dnas.architecture_gradient`). Both run here in float64 from one state:

1. build ``model_search.Network(C, 10, layers)`` and ``dnas.spaces.darts.search_network`` and copy
   the official weights, buffers and α into dnas (their parameter lists match one to one);
2. take one real SGD step (momentum 0.9, weight decay 3e-4) on both, so that the virtual step
   has a momentum buffer to unroll;
3. compare ∇_α of both codes, order 1 and 2, label by label.

Usage::

    python benchmarks/peers/parity_official_darts.py /tmp/peers/darts [--C 4 --layers 3]

Exits 1 when the relative difference exceeds ``--tol`` (default 1e-6).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

import dnas
from dnas.space.binding import named_arch_parameters, named_weight_parameters
from dnas.spaces.darts import search_network
from dnas.spaces.darts.structure import edge_label

LR, MOMENTUM, WD = 0.025, 0.9, 3e-4


def _official(checkout: Path):
    cnn = checkout / "cnn" if (checkout / "cnn").is_dir() else checkout
    if not (cnn / "architect.py").is_file():
        raise ValueError(f"checkout={str(checkout)!r} holds no cnn/architect.py")
    sys.path.insert(0, str(cnn))
    try:
        from architect import Architect  # the peer's modules, found at run time
        from model_search import Network
    finally:
        sys.path.remove(str(cnn))
    return Architect, Network


def _labels(steps: int) -> list[tuple[str, int]]:
    """(cell type, row of the official α matrix) for each edge label, in the official order."""
    edges = [(k, j) for k in range(2, steps + 2) for j in range(k)]
    return [(edge_label(t, k, j), (t, e)) for t in ("normal", "reduce")
            for e, (k, j) in enumerate(edges)]


def compare(checkout: Path, C: int, layers: int, batch: int, seed: int) -> dict[str, float]:
    """Relative max-abs difference of ∇_α (dnas vs official) for order 1 and 2."""
    Architect, Network = _official(checkout)
    torch.manual_seed(seed)
    official = Network(C, 10, layers, nn.CrossEntropyLoss()).train()
    ours = search_network(C=C, layers=layers, num_classes=10).train()
    dnas.relax(ours, "darts")
    po, pd = list(official.parameters()), list(named_weight_parameters(ours).values())
    bo, bd = list(official.buffers()), list(ours.buffers())
    if [p.shape for p in po] != [p.shape for p in pd] or len(bo) != len(bd):
        raise RuntimeError("the two search networks' parameter lists do not match one to one")
    alphas = {label: a for label, (_, a) in named_arch_parameters(ours).items()}
    rows = {"normal": official.alphas_normal, "reduce": official.alphas_reduce}
    with torch.no_grad():
        for a, b in zip(pd + bd, po + bo):
            a.copy_(b)
        for label, (cell, e) in _labels(official._steps):
            alphas[label].copy_(rows[cell][e])

    g = torch.Generator().manual_seed(seed)
    def batch_():
        return (torch.randn(batch, 3, 16, 16, generator=g, dtype=torch.float64),
                torch.randint(0, 10, (batch,), generator=g))
    first, train, valid = batch_(), batch_(), batch_()

    opt_o = torch.optim.SGD(official.parameters(), LR, momentum=MOMENTUM, weight_decay=WD)
    opt_d = torch.optim.SGD(pd, LR, momentum=MOMENTUM, weight_decay=WD)
    for model, opt in ((official, opt_o), (ours, opt_d)):  # one real step: momentum buffers
        opt.zero_grad()
        F.cross_entropy(model(first[0]), first[1]).backward()
        opt.step()
    architect = Architect(official, SimpleNamespace(
        momentum=MOMENTUM, weight_decay=WD, arch_learning_rate=3e-4, arch_weight_decay=1e-3))

    result = {}
    for order in (1, 2):
        architect.optimizer.zero_grad()
        if order == 1:
            architect._backward_step(*valid)
        else:
            architect._backward_step_unrolled(*train, *valid, LR, opt_o)
        ref = {label: rows[cell].grad[e] for label, (cell, e) in _labels(official._steps)}
        got = dnas.architecture_gradient(ours, F.cross_entropy, train, valid, opt_d, order=order)
        scale = max(r.abs().max().item() for r in ref.values())
        diff = max((got[k] - ref[k]).abs().max().item() for k in ref)
        result[f"order {order}"] = diff / scale
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkout", type=Path, help="patched checkout of github.com/quark0/darts")
    p.add_argument("--C", type=int, default=4)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=1e-6)
    args = p.parse_args(argv)
    torch.set_default_dtype(torch.float64)  # both codes build their tensors with the default
    try:
        result = compare(args.checkout, args.C, args.layers, args.batch, args.seed)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    ok = all(v <= args.tol for v in result.values())
    for k, v in result.items():
        print(f"{k}: max |dnas - official| / max |official| = {v:.2e}")
    print("parity: " + ("OK" if ok else f"FAILED (tolerance {args.tol:g})"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
