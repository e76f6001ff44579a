"""The cost model of a search model: candidate costs per choice, expected and exact cost.

:class:`CostModel` walks the model once and builds the tree of :mod:`dnas.cost.tree`:

* a part without choices is measured as it is (``Const``);
* a part whose only choices are value choices, with at most ``max_combinations`` combinations of
  their values (every :mod:`dnas.nn` layer; an inverted residual block), is a *unit*: each
  combination is fixed (:func:`dnas.arch.derivation.fix_module`, weights sliced) and measured as
  a whole — for latency that is one look-up-table entry per distinct block, as ProxylessNAS does;
* a LayerChoice mixes its candidates' costs, a :class:`~dnas.Repeat` weighs its blocks by the
  probability of reaching them, any other module sums its children.

What is not counted: parameters of a module that a unit does not own are counted once where they
are registered; computation written directly in a container's ``forward`` (outside submodules)
adds no FLOPs or latency; an InputChoice costs nothing itself (its inputs' producers are counted).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.arch.derivation import derive, fix_module
from dnas.cost.latency import LatencyTable
from dnas.cost.measures import (
    FlopCount,
    Measure,
    ParameterCount,
    input_width,
    narrow_inputs,
    on_meta,
)
from dnas.cost.trace import Calls, record_calls
from dnas.cost.tree import Affine, Const, Depth, Mixed, Node, Sum, Unit
from dnas.runtime.checks import check_int
from dnas.space.binding import arch_groups
from dnas.space.modules import ArchParams, InputChoice, LayerChoice, _Choice
from dnas.space.repeat import Repeat
from dnas.space.searchable import Searchable
from dnas.space.value import ValueChoice, ValueParams, evaluate

KINDS = ("params", "flops", "latency")


def _value_labels(module: nn.Module) -> dict[str, ValueChoice] | None:
    """The value choices in ``module``'s subtree by label; None if it holds other choices."""
    found: dict[str, ValueChoice] = {}
    for m in module.modules():
        if isinstance(m, (LayerChoice, InputChoice)):
            return None
        if isinstance(m, Repeat) and isinstance(m.depth, ValueChoice):
            return None
        if isinstance(m, ValueChoice):
            found.setdefault(m.label, m)
    return found


def _structural_copy(module: nn.Module, memo: dict[int, nn.Module] | None = None) -> nn.Module:
    """A copy of the module tree that shares every tensor: :func:`fix_module` may replace
    submodules of the copy without touching the original (a deep copy costs ~100× more)."""
    memo = {} if memo is None else memo
    if id(module) in memo:
        return memo[id(module)]
    new = copy.copy(module)
    new._parameters = dict(module._parameters)
    new._buffers = dict(module._buffers)
    memo[id(module)] = new
    new._modules = {k: None if c is None else _structural_copy(c, memo)
                    for k, c in module._modules.items()}
    return new


class CostModel:
    """Parameters, FLOPs or latency of every architecture of a search model.

    Parameters
    ----------
    model : nn.Module
        The search model (its labels are bound here).
    kind : {"params", "flops", "latency"}
        What to count: weights, FLOPs per sample (``torch.utils.flop_counter``), or seconds per
        batch measured by ``latency``.
    example_input : Tensor, optional
        A batch the model accepts (its first sample is used); needed for FLOPs and latency.
    latency : LatencyTable, optional
        Where latency is measured and cached (default: a CPU table in the cache folder).
    max_combinations : int, default 512
        Largest number of value combinations a unit may have before it is split into its
        children.
    calibrate : int, default 8
        Latency only: whole architectures timed to fit ``a · Σ table + b``
        (:mod:`dnas.cost.calibration`); 0 keeps the plain sum of the table's blocks.

    Attributes
    ----------
    tree : Node
        The cost tree.
    labels : list of str
        The labels the cost depends on.
    """

    def __init__(
        self,
        model: nn.Module,
        kind: str = "params",
        example_input: torch.Tensor | None = None,
        *,
        latency: LatencyTable | None = None,
        max_combinations: int = 512,
        calibrate: int = 8,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module with dnas choices, got "
                            f"{type(model).__name__}")
        if kind not in KINDS:
            raise ValueError(f"cost={kind!r} is not one of {', '.join(map(repr, KINDS))}")
        max_combinations = int(check_int("max_combinations", max_combinations, 1))
        calibrate = int(check_int("calibrate", calibrate, 0))
        if kind != "params" and example_input is None:
            raise ValueError(f"cost={kind!r} needs example_input (a batch the model accepts)")
        if latency is not None and not isinstance(latency, LatencyTable):
            raise TypeError(f"latency must be a dnas.cost.LatencyTable, got {latency!r}")
        self.model = model
        self.kind = kind
        self.groups = arch_groups(model)
        if not self.groups:
            raise ValueError("model has no choices: there is no cost to search over")
        self.measure: Measure
        if kind == "params":
            self.measure = ParameterCount()
        elif kind == "flops":
            self.measure = FlopCount()
        else:
            self.measure = latency if latency is not None else LatencyTable()
        self.max_combinations = max_combinations
        self._calls: Calls = (
            record_calls(model, example_input) if example_input is not None else {}
        )
        tree = self._node(model)
        if isinstance(self.measure, LatencyTable):
            # a latency table is swept several times: each entry keeps its fastest sweep
            try:
                for sweep in range(2, self.measure.sweeps + 1):
                    self.measure.sweep = sweep
                    tree = self._node(model)
            finally:
                self.measure.sweep = 1
        self._calls = {}
        self.calibration: tuple[float, float] | None = None
        if isinstance(self.measure, LatencyTable):
            if calibrate and example_input is not None:
                from dnas.cost.calibration import calibrate as fit_whole

                self.calibration = fit_whole(model, example_input, tree, self.groups,
                                             self.measure, calibrate)
                tree = Affine(tree, *self.calibration)
            self.measure.save()
        self.tree: Node = tree
        self.labels = sorted(self.tree.labels())

    # ------------------------------------------------------------------ building
    def _called(self, module: nn.Module) -> bool:
        return not self.measure.needs_inputs or id(module) in self._calls

    def _const(self, module: nn.Module) -> Node:
        if self._called(module):
            return Const(self.measure(module, self._calls.get(id(module), [])))
        own = sum(p.numel() for p in module.parameters(recurse=False))
        return Sum([Const(own if self.kind == "params" else 0.0),
                    *(self._const(c) for c in module.children())])

    def _unit(self, module: nn.Module, choices: dict[str, ValueChoice]) -> Node:
        labels = list(choices)
        width = input_width(module)
        calls = self._calls.get(id(module), [])
        # counting needs shapes only: fix copies of a meta-device template (no weights copied);
        # timing needs real tensors
        template = module if self.kind == "latency" else on_meta(module)
        costs = []
        for combo in itertools.product(*(choices[label].values for label in labels)):
            assignment = dict(zip(labels, combo))
            fixed = fix_module(_structural_copy(template), Architecture(assignment))
            narrowed = narrow_inputs(calls, width, int(evaluate(width[0], assignment))
                                     if width is not None else 0)
            costs.append(self.measure(fixed, narrowed))
        shape = [len(choices[label].values) for label in labels]
        return Unit(labels, torch.tensor(costs, dtype=torch.float64).reshape(shape))

    def _node(self, module: nn.Module) -> Node:
        if isinstance(module, (ArchParams, _Choice)) and not isinstance(module, LayerChoice):
            return Const(0.0)  # α, value choices, InputChoice: no cost of their own
        if isinstance(module, LayerChoice):
            k = module.arch.relaxation.n_kept(module.arch)
            if k != 1:
                raise ValueError(
                    f"cost: LayerChoice {module.label!r} keeps {k} candidates; the cost model "
                    "supports choices that keep one"
                )
            return Mixed(module.label, [self._node(c) for c in module.candidates.values()])
        if isinstance(module, Repeat) and isinstance(module.depth, ValueChoice):
            return Depth(module.depth.label, list(module.depths),
                         [self._node(b) for b in module.blocks])
        values = _value_labels(module)
        if values is not None and not values:
            return self._const(module)
        if values is not None:
            n = math.prod(len(c.values) for c in values.values())
            if self._called(module) and (n <= self.max_combinations
                                         or isinstance(module, Searchable)):
                return self._unit(module, values)
            if isinstance(module, Searchable):
                raise ValueError(
                    f"cost: {type(module).__name__} was not called when the model ran on the "
                    "example input, so its FLOPs/latency cannot be measured"
                )
        own = sum(p.numel() for p in module.parameters(recurse=False))
        return Sum([Const(own if self.kind == "params" else 0.0),
                    *(self._node(c) for c in module.children())])

    # ------------------------------------------------------------------ evaluation
    def probabilities(
        self, alphas: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """Each label's distribution under its relaxation (normalised; differentiable in α)."""
        out = {}
        for label in self.labels:
            g = self.groups[label]
            a = g.alpha if alphas is None else alphas[label]
            p = g.relaxation.probabilities(a)
            out[label] = p / p.sum()  # Fair DARTS' independent sigmoids, normalised
        return out

    def expected(self, alphas: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The expected cost under the current relaxation, differentiable in α (a 0-d tensor).

        ``alphas`` (``{label: α}``) replaces the model's own α, e.g. detached copies.
        """
        if not self.labels:
            a = next(iter(self.groups.values())).alpha
            return a.new_tensor(self.tree.exact({}))
        return self.tree.expected(self.probabilities(alphas))

    def cost(self, architecture: Mapping[str, Any]) -> float:
        """The exact cost of a discrete architecture (the fixed model's)."""
        if not isinstance(architecture, Architecture):
            architecture = Architecture(architecture)
        return self.tree.exact(self.indices(architecture))

    def indices(self, architecture: Architecture) -> dict[str, int]:
        """``{label: index of the chosen candidate}`` for the labels the cost depends on."""
        index = {}
        for label in self.labels:
            g = self.groups[label]
            if label not in architecture:
                raise ValueError(f"architecture has no choice for label {label!r}")
            picked = architecture[label]
            if len(picked) != 1:
                raise ValueError(f"cost: label {label!r} keeps {list(picked)}; one is needed")
            if isinstance(g, ValueParams):
                index[label] = g.values.index(g.chosen(architecture))
            elif picked[0] in g.names:
                index[label] = g.names.index(str(picked[0]))
            else:
                raise ValueError(f"architecture chooses {picked[0]!r} for label {label!r}, "
                                 f"whose candidates are {list(g.names)}")
        return index

    def argmax(self) -> float:
        """The exact cost of the architecture the export rule derives now."""
        return self.cost(derive(self.model))

    def describe(self) -> str:
        """One line: kind, expected and argmax cost."""
        expected = float(self.expected().detach())
        return (f"cost ({self.kind}): expected {_fmt(expected, self.kind)}, "
                f"argmax {_fmt(self.argmax(), self.kind)}")


def _fmt(v: float, kind: str) -> str:
    if kind == "latency":
        return f"{v * 1e3:.4g} ms"
    return f"{v:,.0f}"


__all__ = ["KINDS", "CostModel"]
