"""Deriving the discrete architecture from α, and building the fixed model from it."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.space.binding import bind, choices
from dnas.space.modules import InputChoice, LayerChoice


def derive(model: nn.Module, digits: int = 6) -> Architecture:
    """Apply each label's selection rule (its relaxation's :meth:`select`) to α.

    A model may define ``derive_architecture(self) -> Architecture`` to apply a space-specific rule
    instead (the DARTS cell space keeps the two strongest incoming edges per node).
    """
    custom = getattr(model, "derive_architecture", None)
    if callable(custom):
        return custom()
    chosen: dict[str, list[str]] = {}
    probs: dict[str, list[float]] = {}
    methods: dict[str, str] = {}
    for label, g in bind(model).items():
        idx = g.relaxation.select(g.alpha.detach(), g)
        chosen[label] = [g.names[i] for i in idx]
        probs[label] = [round(float(p), digits) for p in g.probabilities().tolist()]
        methods[label] = g.relaxation.name
    return Architecture(chosen, meta={"probabilities": probs, "methods": methods})


class SumOf(nn.Module):
    """The fixed form of a LayerChoice that keeps ``k > 1`` candidates: Σ of their outputs."""

    def __init__(self, ops: dict[str, nn.Module]) -> None:
        super().__init__()
        self.ops = nn.ModuleDict(ops)

    def forward(self, *args, **kwargs):
        return sum(op(*args, **kwargs) for op in self.ops.values())


class ChosenInputs(nn.Module):
    """The fixed form of an InputChoice: the sum (or mean) of the chosen inputs."""

    def __init__(self, indices: Sequence[int], n_candidates: int, reduction: str = "sum") -> None:
        super().__init__()
        self.indices = tuple(indices)
        self.n_candidates = n_candidates
        self.reduction = reduction

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        out = sum(inputs[i] for i in self.indices)
        return out / len(self.indices) if self.reduction == "mean" else out

    def extra_repr(self) -> str:
        return f"indices={self.indices}, reduction={self.reduction!r}"


def _fixed(choice: nn.Module, names: tuple[str, ...]) -> nn.Module:
    bad = [n for n in names if n not in choice.names]
    if bad:
        raise ValueError(
            f"architecture chooses {bad} for label {choice.label!r}, whose candidates are "
            f"{list(choice.names)}"
        )
    if isinstance(choice, LayerChoice):
        if len(names) == 1:
            return choice.candidates[names[0]]
        return SumOf({n: choice.candidates[n] for n in names})
    assert isinstance(choice, InputChoice)
    indices = sorted(int(n) for n in names)
    return ChosenInputs(indices, choice.n_candidates, choice.reduction)


def fix(model: nn.Module, architecture: Architecture) -> nn.Module:
    """A copy of ``model`` with every choice replaced by its chosen candidate(s).

    The result is a plain ``nn.Module`` with no architecture parameters; ``model`` is unchanged.
    Raises ``ValueError`` when the architecture misses a label of the model, names a label the
    model does not have, or names an unknown candidate.
    """
    if not isinstance(architecture, Architecture):
        raise TypeError(
            f"architecture must be a dnas.Architecture, got {type(architecture).__name__}"
        )
    labels = set(bind(model))
    missing = sorted(labels - set(architecture))
    if missing:
        raise ValueError(
            f"architecture has no choice for label(s) {missing}; it covers {sorted(architecture)}"
        )
    unknown = sorted(set(architecture) - labels)
    if unknown:
        raise ValueError(f"architecture names label(s) {unknown} that the model does not have")
    fixed = copy.deepcopy(model)
    for name, choice in reversed(choices(fixed)):  # children before parents
        replacement = _fixed(choice, architecture[choice.label])
        if not name:
            return replacement
        parent_name, _, attr = name.rpartition(".")
        parent = fixed.get_submodule(parent_name) if parent_name else fixed
        setattr(parent, attr, replacement)
    return fixed
