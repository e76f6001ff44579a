"""The budget penalty of a cost-aware search, and the export rule that respects the budget.

With E(α) the expected cost (:class:`~dnas.cost.CostModel`, differentiable in α) and B the
budget, the architecture objective becomes

    L_α = L_val(w, α) + λ · φ(log(E(α) / B))

    φ = |·|        "abs" (default): a constant pull towards B from either side
    φ = (·)²       "squared": a pull that fades near B
    φ = max(0, ·)  "hinge": a cap, only costs above B are penalised

This is the additive form of ProxylessNAS (Cai et al., 2019, eq. 5: CE + λ·E[latency]) made
two-sided and scale-free by the logarithm: λ means the same for parameters, FLOPs and seconds,
and a 10% miss costs ≈ 0.095·λ whatever the budget. (FBNet's multiplicative CE · β·log(LAT)^γ and
MnasNet's ACC · (LAT/T)^w reward smaller models without a target; the log ratio keeps a target.)
The penalty depends on α only, so it adds ``λ ∂φ/∂α`` to the architecture gradient of any order.

Export: a product distribution whose *expected* cost meets B can still put its most likely
architecture far from B. :meth:`BudgetPenalty.export` therefore keeps the export rule's choice
when its exact cost is within ``tolerance`` of B (for "hinge": at most B(1 + tolerance)), and
otherwise moves one label at a time to another candidate — each time the move that reaches the
band losing the least log-probability, or else the one that closes the most log-distance to the
band per unit of log-probability lost — the most probable architecture it finds in the band.
With a ``score`` (``dnas.search(..., budget_export="validation")``: :func:`validation_loss`, the
loss of the supernet's weights fixed to a candidate architecture on the validation split) the
same moves are ranked by that score instead of by α: the move into the band whose architecture
scores lowest, or else the one that closes the most log-distance per unit of score it adds —
what the trained weights say, rather than α, which a cost pull has bent. (A model with its own
export rule, ``derive_architecture``, keeps that rule's architecture; its cost is still
recorded.)

:meth:`BudgetPenalty.search` (``budget_export="one-shot"``) searches the band itself with the
trained supernet as the judge, as one-shot NAS does after training a supernet (SPOS, Guo et al.,
2020; OFA, Cai et al., 2020): the α rule's in-band architecture and ``samples`` architectures
drawn uniformly from the band (:func:`dnas.cost.sample_in_band`) are scored (lowest validation
loss with the shared weights fixed to each), then the best is improved by moves of one label, or
of two (a wider layer paid for by a narrower one), that stay in the band — in a random order,
the first that scores lower, until none does — up to ``max_evaluations`` scored architectures.
α only supplies the first candidate: where a cost pull leaves α nearly flat (short searches,
many labels), the weights still rank the band.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from dnas.arch.architecture import Architecture
from dnas.cost.model import CostModel
from dnas.cost.sampling import sample_in_band
from dnas.runtime.checks import ParameterError, check_int
from dnas.space.value import ValueParams

PENALTIES = ("abs", "squared", "hinge")
EXPORTS = ("probability", "validation", "one-shot")


def penalty(expected: torch.Tensor, budget: float, form: str = "abs") -> torch.Tensor:
    """φ(log(expected / budget)) for ``form`` in :data:`PENALTIES` (see the module docstring)."""
    r = torch.log(expected / budget)
    if form == "abs":
        return r.abs()
    if form == "squared":
        return r * r
    if form == "hinge":
        return torch.relu(r)
    raise ValueError(f"cost_penalty={form!r} is not one of {', '.join(map(repr, PENALTIES))}")


class BudgetPenalty:
    """λ · φ(log(E(α)/B)) on the architecture objective, its report and its export rule.

    Parameters
    ----------
    cost_model : CostModel
    budget : float
        B, in the cost model's unit (parameters, FLOPs per sample, seconds per batch).
    weight : float, default 1.0
        λ.
    form : {"abs", "squared", "hinge"}, default "abs"
    tolerance : float, default 0.1
        Relative band around B that the exported architecture must reach.
    """

    def __init__(
        self,
        cost_model: CostModel,
        budget: float,
        weight: float = 1.0,
        form: str = "abs",
        tolerance: float = 0.1,
    ) -> None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
            raise ValueError(f"budget={budget!r} must be a number > 0")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"cost_weight={weight!r} must be a number >= 0")
        if form not in PENALTIES:
            raise ValueError(f"cost_penalty={form!r} is not one of "
                             f"{', '.join(map(repr, PENALTIES))}")
        if not 0 <= tolerance < 1:
            raise ValueError(f"budget_tolerance={tolerance!r} must be in [0, 1)")
        self.cost_model = cost_model
        self.budget, self.weight, self.form = float(budget), float(weight), form
        self.tolerance = float(tolerance)

    def value(self, alphas: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """λ · φ(log(E/B)) (a 0-d tensor, differentiable in α)."""
        return self.weight * penalty(self.cost_model.expected(alphas), self.budget, self.form)

    def gradients(self) -> dict[str, torch.Tensor]:
        """``{label: ∂(λ φ)/∂α}`` at the model's current α (labels the cost depends on)."""
        groups = self.cost_model.groups
        alphas = {k: groups[k].alpha.detach().requires_grad_(True) for k in self.cost_model.labels}
        if not alphas:
            return {}
        loss = self.value(alphas)
        grads = torch.autograd.grad(loss, list(alphas.values()), allow_unused=True)
        return {k: (g if g is not None else torch.zeros_like(alphas[k]))
                for k, g in zip(alphas, grads)}

    def add_gradients(self, grads: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``grads`` (the architecture gradient by label) plus the penalty's gradient."""
        out = dict(grads)
        for label, g in self.gradients().items():
            out[label] = out[label] + g.to(out[label].dtype) if label in out else g
        return out

    def report(self) -> dict[str, float]:
        """``expected_cost``, ``argmax_cost`` (of the plain export rule), ``cost_penalty``."""
        with torch.no_grad():
            expected = self.cost_model.expected()
            return {
                "expected_cost": float(expected),
                "argmax_cost": self.cost_model.argmax(),
                "cost_penalty": float(
                    self.weight * penalty(expected, self.budget, self.form)
                ),
            }

    # ------------------------------------------------------------------ export
    def band(self) -> tuple[float, float]:
        """The costs an exported architecture must reach: ``B(1 ± tolerance)`` (hinge: ≤)."""
        low = 0.0 if self.form == "hinge" else self.budget * (1 - self.tolerance)
        return low, self.budget * (1 + self.tolerance)

    def _distance(self, c: float) -> float:
        low, high = self.band()
        if c > high:
            return math.log(c / high)
        if low > 0 and c < low:
            return math.log(low / max(c, 1e-300))
        return 0.0

    def export(
        self,
        architecture: Architecture,
        score: Callable[[Architecture], float] | None = None,
    ) -> Architecture:
        """``architecture`` (the export rule's), moved into the budget band if it is outside;
        its ``meta["cost"]`` records the exact cost, the budget and what was changed.

        ``score`` (lower is better, e.g. :func:`validation_loss`) ranks the moves instead of the
        log-probability they give up; its values for the start and the result are recorded
        (``meta["cost"]["score"]``).
        """
        cm = self.cost_model
        with torch.no_grad():
            logp = {k: torch.log(v.clamp_min(1e-30)).tolist()
                    for k, v in cm.probabilities().items()}
        index = cm.indices(architecture)
        start = cm.tree.exact(index)
        cost = start
        changed: list[str] = []
        scores: dict[tuple[tuple[str, int], ...], float] = {}

        def scored(ix: Mapping[str, int]) -> float:  # each architecture scored once
            key = tuple(sorted(ix.items()))
            if key not in scores:
                assert score is not None
                value = float(score(self._architecture(architecture, ix)))
                if math.isnan(value):
                    raise ValueError(f"the export score of {dict(ix)} is NaN")
                scores[key] = value
            return scores[key]

        # a space with its own export rule (DARTS cells: two inputs per node) keeps its choice:
        # moving single labels could break the rule's structure
        steps = 0 if callable(getattr(cm.model, "derive_architecture", None)) else 10 * len(index)
        for _ in range(steps):
            d = self._distance(cost)
            if d == 0:
                break
            here = scored(index) if score is not None else 0.0
            best: tuple[float, float, str, int, float] | None = None  # (reached, rank, ...)
            for label, i in index.items():
                for j in self._allowed(label):
                    if j == i:
                        continue
                    c = cm.tree.exact({**index, label: j})
                    d_new = self._distance(c)
                    if d_new >= d:
                        continue
                    # what the move gives up: α log-probability, or score added
                    lost = (logp[label][i] - logp[label][j] if score is None
                            else scored({**index, label: j}) - here)
                    key = ((1.0, -lost) if d_new == 0
                           else (0.0, (d - d_new) / (max(lost, 0.0) + 1e-6)))
                    if best is None or key > best[:2]:
                        best = (*key, label, j, c)
            if best is None:
                break  # no single move gets closer: keep what we have
            _, _, label, j, cost = best
            index[label] = j
            changed.append(label)
        chosen = self._architecture(architecture, index)
        meta: dict[str, Any] = dict(architecture.meta)
        meta["cost"] = {
            "kind": cm.kind, "value": cost, "budget": self.budget, "tolerance": self.tolerance,
            "penalty": self.form, "weight": self.weight, "argmax": start,
            "expected": float(cm.expected().detach()), "within_budget": self._distance(cost) == 0,
            "moved": sorted(set(changed)),
            "export": "probability" if score is None else "score",
        }
        if score is not None and changed:
            meta["cost"]["score"] = {"start": scored(cm.indices(architecture)),
                                     "exported": scored(index), "evaluated": len(scores)}
        return Architecture(dict(chosen.items()), meta)

    def search(
        self,
        architecture: Architecture,
        score: Callable[[Architecture], float],
        *,
        samples: int = 32,
        max_evaluations: int = 128,
        generator: torch.Generator | None = None,
    ) -> Architecture:
        """The in-band architecture with the lowest ``score`` found by a one-shot search (see the
        module docstring): the α rule's (:meth:`export`) and ``samples`` uniform draws from the
        band, then moves of one or two labels within the band from the best, at most
        ``max_evaluations`` architectures scored in all (each once). ``generator`` (CPU) seeds
        the draws and the order in which neighbours are tried. ``meta["cost"]`` records the
        exact cost, ``export="one-shot"``, the labels that differ from ``architecture`` and the
        scores of the α rule's pick and of the result.

        A model with its own export rule (``derive_architecture``: DARTS cells) keeps
        :meth:`export`'s architecture: single-label moves could break the rule's structure.
        """
        check_int("samples", samples, 0)
        check_int("max_evaluations", max_evaluations, 1)
        if not callable(score):
            raise ParameterError(f"score must be a callable taking an Architecture, got "
                                 f"{type(score).__name__}")
        first = self.export(architecture)
        cm = self.cost_model
        if (callable(getattr(cm.model, "derive_architecture", None))
                or first.meta["cost"]["within_budget"] is False):
            return first  # a structured rule, or a band no single-label walk reaches
        scores: dict[tuple[tuple[str, int], ...], float] = {}

        def scored(ix: Mapping[str, int]) -> float:
            key = tuple(sorted(ix.items()))
            if key not in scores:
                value = float(score(self._architecture(architecture, ix)))
                if math.isnan(value):
                    raise ValueError(f"the export score of {dict(ix)} is NaN")
                scores[key] = value
            return scores[key]

        low, high = self.band()
        starts = [cm.indices(first)]
        allowed = {k: set(self._allowed(k)) for k in starts[0]}
        for _ in range(samples):  # draws that pick a "none" operation are left out, as moves
            ix = cm.indices(sample_in_band(cm, low, high, generator))
            if all(j in allowed[k] for k, j in ix.items()):
                starts.append(ix)
        best = min(starts[:max_evaluations], key=scored)  # ties: the earlier (α's pick first)
        # stochastic hill climbing: the in-band neighbours (one label changed, then two: a band
        # often admits a wider layer only with a narrower one) in a random order; the first
        # that scores lower is taken, until none does or the evaluations are spent
        improved = True
        while improved and len(scores) < max_evaluations:
            improved = False
            here = scored(best)
            for nb in self._neighbours(best, low, high, generator):
                if len(scores) >= max_evaluations:
                    break
                if scored(nb) < here:
                    best, improved = nb, True
                    break
        chosen = self._architecture(architecture, best)
        meta: dict[str, Any] = dict(architecture.meta)
        start = cm.indices(architecture)
        meta["cost"] = {
            **first.meta["cost"], "value": cm.tree.exact(best), "within_budget": True,
            "moved": sorted(k for k in best if best[k] != start[k]), "export": "one-shot",
            "score": {"start": scored(starts[0]), "exported": scored(best),
                      "evaluated": len(scores)},
        }
        return Architecture(dict(chosen.items()), meta)

    def _neighbours(self, index: Mapping[str, int], low: float, high: float,
                    generator: torch.Generator | None) -> list[dict[str, int]]:
        """The architectures in ``[low, high]`` that differ from ``index`` in one label (shuffled),
        then those that differ in two (shuffled)."""
        cm = self.cost_model
        moves = [(label, j) for label, i in index.items() for j in self._allowed(label) if j != i]
        singles = [{**index, label: j} for label, j in moves]
        pairs = [{**index, a: i, b: j} for n, (a, i) in enumerate(moves)
                 for b, j in moves[n + 1:] if a != b]
        out = []
        for group in (singles, pairs):
            group = [ix for ix in group if low <= cm.tree.exact(ix) <= high]
            order = torch.randperm(len(group), generator=generator).tolist()
            out += [group[k] for k in order]
        return out

    def _architecture(self, architecture: Architecture, index: Mapping[str, int]) -> Architecture:
        """``architecture`` with the cost model's labels set to the candidates ``index`` names."""
        chosen = dict(architecture.items())
        for label, j in index.items():
            g = self.cost_model.groups[label]
            chosen[label] = (g.values[j],) if isinstance(g, ValueParams) else (g.names[j],)
        return Architecture(chosen, dict(architecture.meta))

    def reachable(self) -> tuple[float, float]:
        """The lowest and the highest cost of any architecture of the model.

        Every candidate counts, ``none`` included (an export rule may keep it: NB201's does, and
        the plain argmax can), so a budget is never refused that some architecture meets. Found
        by single-label descents (each time the move that lowers, or raises, the cost the most)
        from every label's first and from its last candidate: exact when a label's candidates
        keep their cost order whatever the other labels choose, as widths, kernel sizes,
        expansion ratios, depths, skippable blocks and per-edge operations do.
        """
        cm = self.cost_model
        allowed = {k: list(range(len(cm.groups[k].names))) for k in cm.labels}
        if not allowed:
            c = cm.tree.exact({})
            return c, c

        def descend(index: dict[str, int], sign: float) -> float:
            c = cm.tree.exact(index)
            for _ in range(10 * len(index) + 1):
                best: tuple[str, int, float] | None = None
                for label, candidates in allowed.items():
                    for j in candidates:
                        if j != index[label]:
                            cj = cm.tree.exact({**index, label: j})
                            if sign * cj < sign * (c if best is None else best[2]):
                                best = (label, j, cj)
                if best is None:
                    break
                index[best[0]], c = best[1], best[2]
            return c

        starts = [{k: js[0] for k, js in allowed.items()}, {k: js[-1] for k, js in allowed.items()}]
        return (min(descend(dict(s), 1.0) for s in starts),
                max(descend(dict(s), -1.0) for s in starts))

    def check_reachable(self) -> None:
        """Raise ``ValueError`` when no architecture of the model can land in the budget band
        (for ``"hinge"``: when even the cheapest one costs more than the cap)."""
        low, high = self.reachable()
        band_low, band_high = self.band()
        if band_high < low or band_low > high:
            unit = {"params": "parameters", "flops": "FLOPs per sample",
                    "latency": "s per batch"}.get(self.cost_model.kind, "")
            what = ("at most" if self.form == "hinge" else
                    f"within budget_tolerance={self.tolerance:g} of")
            raise ValueError(
                f"budget={self.budget:g} is out of reach: the architectures of this model cost "
                f"{low:,.6g} to {high:,.6g} {unit} (cost={self.cost_model.kind!r}), and the "
                f"exported one must cost {what} the budget; give a budget in that range")

    def _allowed(self, label: str) -> list[int]:
        g = self.cost_model.groups[label]
        return [j for j, n in enumerate(g.names) if not (g.kind == "layer" and n == "none")]


def validation_loss(
    model: torch.nn.Module,
    batches: Iterable[tuple[Any, Any]],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    device: torch.device | str | None = None,
) -> Callable[[Architecture], float]:
    """A score for :meth:`BudgetPenalty.export`: the mean loss on ``batches`` of ``model``'s
    trained weights fixed to an architecture (:func:`dnas.fix`, the shared weights sliced to the
    chosen sizes), BatchNorm in training mode (the statistics of each batch: the supernet's
    running statistics belong to the mixture, not to one architecture). Lower is better."""
    from dnas.arch.derivation import fix
    from dnas.runtime.loss import default_loss

    data = list(batches)
    if not data:
        raise ValueError("validation_loss needs at least one batch")
    fn = loss_fn or default_loss

    @torch.no_grad()
    def score(architecture: Architecture) -> float:
        net = fix(model, architecture)
        net.train()
        total, n = 0.0, 0
        for x, y in data:
            if device is not None:
                x, y = x.to(device), y.to(device)
            total += float(fn(net(x), y)) * int(y.shape[0])
            n += int(y.shape[0])
        return total / n

    return score


def from_options(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    kind: str,
    budget: float,
    weight: float = 1.0,
    form: str = "abs",
    tolerance: float = 0.1,
    options: Mapping[str, Any] | None = None,
) -> BudgetPenalty:
    """Build the penalty a search configuration asks for.

    ``options`` (``SearchConfig.cost_options``): ``max_combinations`` for the cost model;
    ``latency_table`` (path), ``latency_device``, ``latency_batch_size``, ``latency_repeats``,
    ``latency_warmup``, ``latency_clock``, ``latency_rounds``, ``latency_statistic``,
    ``latency_sweeps``, ``latency_calibrate`` for the latency look-up table and its whole-network
    calibration; ``export_samples``, ``export_evaluations`` for ``budget_export="one-shot"``
    (:meth:`BudgetPenalty.search`'s ``samples`` and ``max_evaluations``).
    """
    from dnas.cost.latency import LatencyTable

    opts = dict(options or {})
    known = {"max_combinations", "latency_table", "latency_device", "latency_batch_size",
             "latency_repeats", "latency_warmup", "latency_clock", "latency_rounds",
             "latency_statistic", "latency_sweeps", "latency_calibrate", "export_samples",
             "export_evaluations"}
    bad = sorted(set(opts) - known)
    if bad:
        raise ValueError(f"unknown cost_options {bad}; valid: {sorted(known)}")
    table = None
    if kind == "latency":
        table = LatencyTable(
            opts.get("latency_table"), device=opts.get("latency_device", "cpu"),
            batch_size=opts.get("latency_batch_size", 1),
            repeats=opts.get("latency_repeats", 30), warmup=opts.get("latency_warmup", 5),
            clock=opts.get("latency_clock", "wall"), rounds=opts.get("latency_rounds", 3),
            statistic=opts.get("latency_statistic", "min"), sweeps=opts.get("latency_sweeps", 3),
        )
    cm = CostModel(model, kind, None if kind == "params" else example_input, latency=table,
                   max_combinations=opts.get("max_combinations", 512),
                   calibrate=opts.get("latency_calibrate", 8))
    return BudgetPenalty(cm, budget, weight, form, tolerance)


__all__ = ["EXPORTS", "PENALTIES", "BudgetPenalty", "from_options", "penalty", "validation_loss"]
