"""Binding labels to architecture parameters, and splitting a model's parameters.

Binding is the one place where two choices with the same label become one: after
:func:`bind`, every choice with label ``L`` holds the *same* :class:`ArchParams` module, so α and
the per-step sample are shared, and ``model.parameters()`` lists α once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from dnas.runtime.checks import ParameterError, check_int
from dnas.space.modules import ArchParams, InputChoice, LayerChoice, _Choice


def choices(model: nn.Module) -> list[tuple[str, _Choice]]:
    """All ``(qualified_name, choice)`` pairs of ``model``, in module order."""
    if not isinstance(model, nn.Module):  # every function on a search model starts here
        raise ParameterError(f"model must be an nn.Module, got {type(model).__name__}")
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _Choice)]


def bind(model: nn.Module) -> dict[str, ArchParams]:
    """Make choices that share a label share one :class:`ArchParams`; return them by label.

    Idempotent and cheap. Raises ``ValueError`` when two choices with one label differ in kind or
    candidate names.
    """
    groups: dict[str, ArchParams] = {}
    where: dict[str, str] = {}
    for name, choice in choices(model):
        label = choice.arch.label
        first = groups.get(label)
        if first is None:
            groups[label] = choice.arch
            where[label] = name or "<root>"
            continue
        if choice.arch is first:
            continue
        if choice.arch.kind != first.kind or choice.arch.names != first.names:
            raise ValueError(
                f"choices sharing label {label!r} must have the same candidates: "
                f"{where[label]!r} has {first.kind} candidates {list(first.names)}, "
                f"{name!r} has {choice.arch.kind} candidates {list(choice.arch.names)}"
            )
        if choice.arch.n_chosen != first.n_chosen:
            raise ValueError(
                f"choices sharing label {label!r} disagree on n_chosen: "
                f"{first.n_chosen} at {where[label]!r}, {choice.arch.n_chosen} at {name!r}"
            )
        choice.arch = first  # re-registers the shared module under this choice
    return groups


def arch_groups(model: nn.Module) -> dict[str, ArchParams]:
    """The bound :class:`ArchParams` of ``model``, keyed by label (binds first)."""
    return bind(model)


def _arch_ids(model: nn.Module) -> set[int]:
    return {id(g.alpha) for g in bind(model).values()}


def arch_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    """The architecture parameters (α) of ``model``, one per label."""
    for group in bind(model).values():
        yield group.alpha


def weight_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    """Every parameter of ``model`` that is not an architecture parameter."""
    ids = _arch_ids(model)
    for p in model.parameters():
        if id(p) not in ids:
            yield p


def named_weight_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """``{qualified_name: parameter}`` for the weights (tied parameters listed once)."""
    ids = _arch_ids(model)
    return {n: p for n, p in model.named_parameters() if id(p) not in ids}


def named_arch_parameters(model: nn.Module) -> dict[str, tuple[str, nn.Parameter]]:
    """``{label: (qualified_name, α)}``, the name usable with ``torch.func.functional_call``.

    Call it with ``tie_weights=False``: the α of a shared label lives in one module registered
    under every choice with the label, and torch's default ``tie_weights=True`` swaps that module
    once per path and, restoring in the same order, leaves it holding the substituted tensor
    (:class:`dnas.optim.objective.Objective` does this right, tied weights included).
    """
    by_id = {id(g.alpha): label for label, g in bind(model).items()}
    out: dict[str, tuple[str, nn.Parameter]] = {}
    for n, p in model.named_parameters():  # deduplicated: first name of a tied α
        label = by_id.get(id(p))
        if label is not None:
            out[label] = (n, p)
    return out


def resample(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """Draw one sample per label for the next step (shared by every choice with that label)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ParameterError(f"generator={generator!r} must be a torch.Generator (e.g. "
                             "torch.Generator().manual_seed(0)) or None")
    for group in bind(model).values():
        group.resample(generator)


def summary(model: nn.Module, digits: int = 3, cost: Any = None) -> str:
    """A readable table of the current distribution over candidates, per label.

    Columns: label, kind, how many choices share it, relaxation, the most likely candidate(s),
    and every candidate's probability. With ``cost`` (a :class:`dnas.cost.CostModel`, or
    ``"params"``), a last line gives the expected cost under α and the exact cost of the
    architecture the export rule picks now.
    """
    groups = bind(model)
    check_int("digits", digits, 0, 17)
    if cost is not None and not isinstance(cost, str) and not callable(
            getattr(cost, "describe", None)):
        raise ParameterError(f"cost={cost!r} must be a dnas.cost.CostModel, one of 'params', "
                             "'flops', 'latency', or None")
    counts: dict[str, int] = {}
    for _, c in choices(model):
        counts[c.label] = counts.get(c.label, 0) + 1
    rows = [("label", "kind", "uses", "method", "top", "distribution")]
    for label, g in groups.items():
        probs = g.probabilities().float().cpu()
        order = torch.argsort(probs, descending=True)[: g.n_chosen].tolist()
        top = ",".join(g.names[i] for i in order)
        dist = " ".join(f"{n}={p:.{digits}f}" for n, p in zip(g.names, probs.tolist()))
        rows.append((label, g.kind, str(counts[label]), g.relaxation.name, top, dist))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
        if len(lines) == 1:
            lines.append("-" * (sum(widths) + 10 + len(r[5])))
    if cost is not None:
        if isinstance(cost, str):
            from dnas.cost import CostModel  # local: the cost package imports this one

            cost = CostModel(model, cost)
        lines.append(cost.describe())
    return "\n".join(lines)


__all__ = [
    "InputChoice",
    "LayerChoice",
    "arch_groups",
    "arch_parameters",
    "bind",
    "choices",
    "named_arch_parameters",
    "named_weight_parameters",
    "resample",
    "summary",
    "weight_parameters",
]
