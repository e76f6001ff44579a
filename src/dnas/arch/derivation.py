"""Deriving the discrete architecture from α, and building the fixed model from it."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.space.binding import bind
from dnas.space.modules import InputChoice, LayerChoice
from dnas.space.searchable import Searchable
from dnas.space.value import ChosenValue, ValueChoice, ValueParams


def label_probabilities(model: nn.Module) -> dict[str, dict[str, float]]:
    """The distribution each label's α currently expresses, by label and candidate name.

    What a custom export rule reads: ``{"1<-0": {"none": 0.1, "skip_connect": 0.4, ...}, ...}``
    (the relaxation's :meth:`probabilities`: softmax for DARTS, sigmoids for Fair DARTS, ...).
    """
    out: dict[str, dict[str, float]] = {}
    for label, g in bind(model).items():
        out[label] = dict(zip(g.names, (float(p) for p in g.probabilities().tolist()), strict=True))
    return out


def derive(model: nn.Module, digits: int = 6) -> Architecture:
    """Apply each label's selection rule (its relaxation's :meth:`select`) to α.

    A model may define ``derive_architecture(self) -> Architecture`` to apply a space-specific rule
    instead (the DARTS cell space keeps the two strongest incoming edges per node).
    """
    custom = getattr(model, "derive_architecture", None)
    if callable(custom):
        return custom()
    chosen: dict[str, list[str | int | float]] = {}
    probs: dict[str, list[float]] = {}
    methods: dict[str, str] = {}
    kept: dict[str, int] = {}
    for label, g in bind(model).items():
        idx = g.relaxation.select(g.alpha.detach(), g)
        # a value choice exports its plain values ({"width": [32]}), a layer choice its names
        chosen[label] = [g.values[i] if isinstance(g, ValueParams) else g.names[i] for i in idx]
        probs[label] = [round(float(p), digits) for p in g.probabilities().tolist()]
        methods[label] = g.relaxation.name
        if len(idx) != g.n_chosen:  # the relaxation keeps more (binary gates' num_on)
            kept[label] = len(idx)
    meta: dict[str, object] = {"probabilities": probs, "methods": methods}
    if kept:
        meta[N_KEPT] = kept
    return Architecture(chosen, meta=meta)


#: ``meta`` entry of labels whose relaxation exported another number of candidates than the
#: choice's ``n_chosen`` (binary gates keep ``num_on`` paths): ``{label: count}``
N_KEPT = "n_kept"


def _n_kept(architecture: Architecture, label: str, n_chosen: int) -> int:
    recorded = architecture.meta.get(N_KEPT)
    count = recorded.get(label) if isinstance(recorded, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else n_chosen


def select_architecture(searcher: Any) -> Architecture:
    """The export rule a finished search asks for (``searcher.config.select``).

    ``"default"``: :func:`derive` (each label's relaxation rule, or the model's
    ``derive_architecture``). ``"perturbation"``: DARTS-PT (:func:`dnas.robust.project`), which
    measures the supernet without each candidate on the validation split and fine-tunes the
    supernet between decisions; ``select_options`` may set ``tune_steps`` (default: 5% of the
    search's steps per decision, the paper's 5 of 100 epochs) and ``tune_lr_factor``.
    """
    config = searcher.config
    if getattr(config, "select", "default") == "default":
        return derive(searcher.model)
    from dnas.robust.hooks import validation_batches
    from dnas.robust.perturbation import project

    options = dict(config.select_options)
    total = config.epochs * searcher.steps_per_epoch
    options.setdefault("tune_steps", max(1, round(0.05 * total)))
    options.setdefault("seed", config.seed or 0)
    return project(searcher, validation_batches(searcher), **options)


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
        out = inputs[self.indices[0]]
        for i in self.indices[1:]:  # the order of sum(): the same numbers
            out = out + inputs[i]
        return out / len(self.indices) if self.reduction == "mean" else out

    def extra_repr(self) -> str:
        return f"indices={self.indices}, reduction={self.reduction!r}"


def _fixed(module: nn.Module, architecture: Architecture) -> nn.Module:
    """The fixed form of one module (itself when it is neither a choice nor searchable)."""
    if isinstance(module, Searchable):
        return module.fixed(architecture)
    if isinstance(module, ValueChoice):
        return ChosenValue(module.chosen(architecture))
    if not isinstance(module, (LayerChoice, InputChoice)):
        return module
    names = architecture[module.label]
    bad = [n for n in names if n not in module.names]
    if bad:
        raise ValueError(
            f"architecture chooses {bad} for label {module.label!r}, whose candidates are "
            f"{list(module.names)}"
        )
    expected = _n_kept(architecture, module.label, module.arch.n_chosen)
    if len(names) != expected:
        raise ValueError(
            f"architecture chooses {len(names)} candidate(s) {list(names)} for label "
            f"{module.label!r}, whose {type(module).__name__} keeps n_chosen={expected}"
        )
    kept = [str(n) for n in names]  # checked above: candidate names
    if isinstance(module, LayerChoice):
        if len(kept) == 1:
            return module.candidates[kept[0]]
        return SumOf({n: module.candidates[n] for n in kept})
    indices = sorted(int(n) for n in kept)
    return ChosenInputs(indices, module.n_candidates, module.reduction)


def fix_module(module: nn.Module, architecture: Architecture) -> nn.Module:
    """``module`` with every choice and searchable module replaced, in place (outermost first).

    A replacement is fixed in turn (a chosen candidate may hold choices of its own); a module
    reached along several paths is replaced once, so sharing survives. No label checks: see
    :func:`fix`.
    """
    done: dict[int, tuple[nn.Module, nn.Module]] = {}  # id -> (module kept alive, its fixed form)

    def visit(m: nn.Module) -> nn.Module:
        if id(m) in done:
            return done[id(m)][1]
        new = _fixed(m, architecture)
        if new is not m:
            new = visit(new)
        else:
            # every attribute, also a second name for one child (named_children skips those)
            for name, child in list(m._modules.items()):
                if child is None:
                    continue
                fixed_child = visit(child)
                if fixed_child is not child:
                    setattr(m, name, fixed_child)
        done[id(m)] = (m, new)
        return new

    return visit(module)


def fix(model: nn.Module, architecture: Architecture, *, seed: int | None = None) -> nn.Module:
    """A copy of ``model`` with every choice replaced by its chosen candidate(s).

    LayerChoice -> the chosen candidate (the sum of them when several are kept), InputChoice ->
    the chosen inputs, a searchable module (:mod:`dnas.nn` layers, :class:`dnas.Repeat`) -> the
    plain module of exactly the chosen sizes, weights copied from the shared ones.
    The result is a plain ``nn.Module`` with no architecture parameters; ``model`` is unchanged.
    Raises ``ValueError`` when the architecture misses a label of the model, names a label the
    model does not have, names an unknown candidate or value, or keeps another number of
    candidates than a choice's ``n_chosen`` (unless its ``meta["n_kept"]`` records the count a
    relaxation exported, as binary gates' ``num_on`` paths).

    A module may drop what the architecture leaves unused: the NAS-Bench-201 cell keeps only its
    live edges (:class:`dnas.spaces.nb201.SearchCell`). With ``seed``, every layer of the result is
    re-initialised from ``(seed, its name)`` (:func:`dnas.arch.seeding.seeded_reset`), so the
    initial weights depend only on the chosen architecture and the seed, not on the candidates
    that were not chosen nor on the searched weights.
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
    fixed = fix_module(copy.deepcopy(model), architecture)
    if seed is not None:
        from dnas.arch.seeding import seeded_reset

        seeded_reset(fixed, seed)
    return fixed
