"""The weighted sum of a mixed operation, as one stack and one contraction.

    ō(x) = Σ_j w_j · o_j(x)                                       (DARTS, Liu et al., 2019, eq. 2)

computed as ``w @ stack(o_j(x))``: forward one stack and one matrix product, backward two matrix
products — instead of N multiplies and N adds forward and ~3N kernels backward (per edge of a
DARTS cell, 8 candidates: ~16 launches forward and ~23 backward became 2 and 3). The per-candidate
gradients ``w_j · ∂L/∂ō`` come out of one matrix product, contiguous.

Candidates that are :class:`~dnas.ops.Zero` (DARTS' ``none``) contribute exactly zero, so their
output is not computed when they sit at either end of the candidate list (``none`` comes first in
DARTS and NAS-Bench-201): the contraction runs over the other candidates' weights, a slice of w.
α still gets the exact gradient: ∂L/∂w_none = <∂L/∂ō, 0> = 0, and the softmax Jacobian couples
α_none to the others (∂L/∂α_none = -p_none Σ_j p_j ∂L/∂w_j, not zero) exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

from dnas.ops.cell_ops import Zero


def weighted_sum(w: torch.Tensor, xs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ_j ``w[j] · xs[j]`` (one stack, one matrix product).

    Inputs of different shapes, dtypes or devices (a sum that broadcasts) take the plain sum.
    """
    first = xs[0]
    if len(xs) == 1:
        return w[0] * first
    if not all(
        x.shape == first.shape and x.dtype == first.dtype and x.device == first.device for x in xs
    ):
        return cast(torch.Tensor, sum(wj * x for wj, x in zip(w.unbind(0), xs)))
    stacked = torch.stack(list(xs)).view(len(xs), first.numel())
    out = torch.mm(w.to(first.dtype).unsqueeze(0), stacked)
    return out.view(first.shape)


def mixed_output(
    w: torch.Tensor, ops: Sequence[nn.Module], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> torch.Tensor:
    """Σ_j ``w[j] · ops[j](*args, **kwargs)``, without running the zero candidates at the ends."""
    start, stop = nonzero_span(ops)
    outs = [op(*args, **kwargs) for op in ops[start:stop]]
    if stop - start < len(ops):
        w = w.narrow(0, start, stop - start)
    return weighted_sum(w, outs)


def nonzero_span(ops: Sequence[nn.Module]) -> tuple[int, int]:
    """``(start, stop)``: the candidates left once the :class:`Zero` ones at either end are cut.

    Zero candidates between others are kept (their outputs are computed): cutting them would take
    a gather of w, whose backward costs more launches than the zeros it saves.
    """
    start, stop = 0, len(ops)
    while start < stop and isinstance(ops[start], Zero):
        start += 1
    while stop > start and isinstance(ops[stop - 1], Zero):
        stop -= 1
    return (start, stop) if start < stop else (0, len(ops))


__all__ = ["mixed_output", "nonzero_span", "weighted_sum"]
