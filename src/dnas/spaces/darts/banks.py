"""Weight banks: the convolution weights a packed cell stacks, stored stacked.

The packed cell (:mod:`~dnas.spaces.darts.packed`) runs the depthwise and pointwise convolutions of
all outgoing edges of a state as one grouped convolution, whose weight is the per-edge weights
stacked along the output channels. Stored per edge, they would have to be stacked on every
forward and their gradients handed back one by one (≈1,400 parameters on the DARTS search
network: several dispatcher calls each per pass). Stored stacked, one parameter per weight shape
per cell (a *bank*, rows in the plan's order), a stacked convolution's weight is a slice of a bank
and a step touches a few dozen parameters.

The per-edge modules keep their structure and hyper-parameters; only their ``weight`` moves into
the bank. For the per-edge path (sampling relaxations, evaluation mode) the cell binds each
module's ``weight`` to its rows of the bank for the duration of its forward
(:func:`bound_views`); a module called on its own binds its rows through a forward pre-hook. At
rest ``weight`` is ``None``. The state dict keeps the per-edge layout
(``...sep_conv_3x3.0.1.weight`` and so on), so checkpoints move freely between banked and per-edge
networks (:func:`bank_state_to_edges`, :func:`edge_state_to_banks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

_SLOT = "_bank_slot"  # on a banked conv: (bank parameter, first row, rows)


class _Rows(torch.autograd.Function):
    """``bank.split(rows)`` whose backward fills unused rows with one zero tensor.

    ``split``'s own backward allocates zeros per chunk without a gradient: one kernel per unused
    candidate when a sampling relaxation runs one candidate per edge.
    """

    @staticmethod
    def forward(ctx: Any, bank: torch.Tensor, rows: list[int]) -> tuple[torch.Tensor, ...]:
        ctx.rows = rows
        ctx.set_materialize_grads(False)
        return bank.split(rows)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[Any, ...]:
        given = next(g for g in grads if g is not None)
        zero = given.new_zeros((sum(ctx.rows), *given.shape[1:])).split(ctx.rows)
        return torch.cat([z if g is None else g for g, z in zip(grads, zero)]), None


def _bind_on_call(module: Any, args: Any) -> None:
    if module.weight is None:
        bank, first, rows = module.__dict__[_SLOT]
        module.weight = bank.narrow(0, first, rows)
        module.__dict__["_bound_by_call"] = True


def _unbind_after_call(module: Any, args: Any, out: Any) -> None:
    if module.__dict__.pop("_bound_by_call", False):
        module.weight = None


def bank_weights(cell: nn.Module, tables: list[list[Any]]) -> list[list[str]]:
    """Move the weights of ``tables[t]`` (same shape within a table) into parameters
    ``cell.bank_<t>``; return each table's module names relative to ``cell``."""
    where = {id(m): name for name, m in cell.named_modules()}
    names = []
    for t, modules in enumerate(tables):
        bank = nn.Parameter(torch.cat([m.weight.detach() for m in modules]))
        cell.register_parameter(f"bank_{t}", bank)
        first = 0
        for m in modules:
            rows = m.weight.shape[0]
            del m.weight
            m.weight = None
            m.__dict__[_SLOT] = (bank, first, rows)
            m.register_forward_pre_hook(_bind_on_call)
            m.register_forward_hook(_unbind_after_call)
            first += rows
        names.append([where[id(m)] for m in modules])
    return names


def refresh_slots(cell: nn.Module, tables: list[list[Any]]) -> None:
    """Point every banked module at its cell's current bank parameter (after ``_apply``)."""
    for t, modules in enumerate(tables):
        bank = getattr(cell, f"bank_{t}")
        for m in modules:
            _, first, rows = m.__dict__[_SLOT]
            m.__dict__[_SLOT] = (bank, first, rows)


@contextmanager
def bound_views(cell: nn.Module, tables: list[list[Any]]) -> Iterator[None]:
    """Bind every banked module's ``weight`` to its rows of the cell's banks (as the cell holds
    them now: ``functional_call`` may have swapped them) for the duration of the block."""
    for t, modules in enumerate(tables):
        bank = getattr(cell, f"bank_{t}")
        rows = [m.__dict__[_SLOT][2] for m in modules]
        views = _Rows.apply(bank, rows) if bank.requires_grad else bank.split(rows)
        for m, view in zip(modules, views):
            m.weight = view
    try:
        yield
    finally:
        for modules in tables:
            for m in modules:
                m.weight = None


def bank_state_to_edges(
    state: dict[str, Any], prefix: str, names: list[list[str]], rows: list[list[int]]
) -> None:
    """Replace ``prefix + "bank_<t>"`` entries of ``state`` by the per-edge weights (views)."""
    for t, (table, sizes) in enumerate(zip(names, rows)):
        bank = state.pop(prefix + f"bank_{t}", None)
        if bank is None:
            continue
        for name, chunk in zip(table, bank.split(sizes)):
            state[prefix + name + ".weight"] = chunk


def edge_state_to_banks(
    state: dict[str, Any], prefix: str, names: list[list[str]]
) -> list[str]:
    """Stack per-edge weights found in ``state`` into ``prefix + "bank_<t>"`` entries (in place);
    return the per-edge keys that are missing for a bank whose other weights are present."""
    missing: list[str] = []
    for t, table in enumerate(names):
        keys = [prefix + name + ".weight" for name in table]
        present = [k in state for k in keys]
        if all(present):
            state[prefix + f"bank_{t}"] = torch.cat([state.pop(k) for k in keys])
        elif any(present):
            missing += [k for k, p in zip(keys, present) if not p]
    return missing


__all__ = [
    "bank_state_to_edges",
    "bank_weights",
    "bound_views",
    "edge_state_to_banks",
    "refresh_slots",
]
