"""What a collapse-robust method may change in a search, and the one object that carries it.

DARTS collapses towards parameter-free operations when its supernet's loss landscape in α is sharp
(Zela et al., 2020) or when skip connections win an unfair competition (Chu et al., 2021). The
remedies change one of three things, and a :class:`RobustMethod` says which:

* the **architecture objective** (β-DARTS adds a regulariser on α),
* the **supernet's forward pass** (DARTS- adds an auxiliary skip connection to every edge),
* the **weights seen by the weight step** (SDARTS trains w under random or adversarial α).

The first two act through a :class:`Robustified` relaxation that wraps the relaxation a search
installed, so every method composes with every relaxation and with first or second order. The
search loop calls :meth:`RobustMethod.install` once, :meth:`RobustMethod.set_progress` at each epoch
and :meth:`RobustMethod.weight_step` around each weight step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dnas.relaxations.base import Relaxation
from dnas.space.binding import bind

if TYPE_CHECKING:
    from dnas.space.modules import ArchParams, InputChoice, LayerChoice


class Robustified(Relaxation):
    """A relaxation that adds a robust method's change to the one it wraps.

    Everything is delegated to ``base`` except what the method changes: an extra regulariser
    (``regularizer_weight`` > 0), an auxiliary skip connection (``skip_weight`` > 0), a perturbation
    of a label's mixing weights during the weight step (``deltas``), a candidate switched off
    (``masks``) and a decided label (``fixed``).
    """

    # ``base`` lives in a slot, not in ``__dict__``: search checkpoints store ``vars()`` of every
    # relaxation and must stay plain data (tensors, numbers, strings) for ``weights_only`` loading
    __slots__ = ("base",)

    def __init__(self, base: Relaxation) -> None:
        if isinstance(base, Robustified):
            raise ValueError(
                f"relaxation {base.name!r} already carries a robust method; combine methods in "
                "one RobustMethod instead"
            )
        self.base = base
        self.name = base.name
        self.stochastic = base.stochastic
        self.samples_paths = base.samples_paths
        self.twice_differentiable = base.twice_differentiable
        self.rescales_after_step = base.rescales_after_step
        # the auxiliary skip lives in mix(): a space must not compute the sum its own way
        self.fused_weighted_sum = False
        self.regularizer_weight = 0.0
        self.regularizer_scale = 1.0
        self.skip_weight = 0.0
        self.deltas: dict[str, torch.Tensor] = {}  # label -> perturbation of its weights
        self.masks: dict[str, torch.Tensor] = {}  # label -> multiplier of its weights
        self.fixed: dict[str, torch.Tensor] = {}  # label -> weights that replace α's

    # ------------------------------------------------------------ what the robust method changes
    def weights(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor:
        fixed = self.fixed.get(arch.label)
        if fixed is not None:  # a decided edge (DARTS-PT): exactly its one-hot weights
            return fixed.to(alpha)
        w = self.base.weights(alpha, arch)
        mask = self.masks.get(arch.label)
        if mask is not None:  # one candidate switched off to measure its importance (DARTS-PT)
            w = w * mask.to(w)
        delta = self.deltas.get(arch.label)
        if delta is not None:  # SDARTS
            w = project_simplex_box(w + delta.to(w))
        return w

    def mix(self, choice: LayerChoice, args: tuple, kwargs: dict) -> torch.Tensor:
        out = self.base.mix(choice, args, kwargs)
        if self.skip_weight:
            x = args[0]
            if x.shape != out.shape:
                raise ValueError(
                    f"the auxiliary skip connection needs an edge that keeps its input's shape; "
                    f"choice {choice.label!r} maps {tuple(x.shape)} to {tuple(out.shape)}"
                )
            out = out + self.skip_weight * x
        return out

    def regularizer(self, alpha: torch.Tensor, arch: ArchParams) -> torch.Tensor | None:
        r = self.base.regularizer(alpha, arch)
        if self.regularizer_weight:
            extra = self.regularizer_weight * self.regularizer_scale * beta_decay_loss(alpha)
            r = extra if r is None else r + extra
        return r

    # ------------------------------------------------------------ everything else: the base's
    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:
        return self.base.probabilities(alpha)

    def resample(self, alpha: torch.Tensor, arch: ArchParams, generator: Any) -> Any:
        return self.base.resample(alpha, arch, generator)

    def mix_inputs(self, choice: InputChoice, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.base.mix_inputs(choice, inputs)

    def attach(self, choice: Any) -> None:
        self.base.attach(choice)

    def set_progress(self, fraction: float) -> None:
        self.base.set_progress(fraction)

    def after_arch_step(self, arch: ArchParams, alpha_before: torch.Tensor) -> None:
        self.base.after_arch_step(arch, alpha_before)

    def select(self, alpha: torch.Tensor, arch: ArchParams) -> list[int]:
        return self.base.select(alpha, arch)

    def n_kept(self, arch: ArchParams) -> int:
        return self.base.n_kept(arch)

    def __repr__(self) -> str:
        return f"Robustified({self.base!r}, {dict(vars(self))})"


def beta_decay_loss(alpha: torch.Tensor) -> torch.Tensor:
    """β-DARTS' Beta-Decay loss of one label (Ye et al., 2022, eq. 9): ``log Σ_k exp(α_k)``."""
    return torch.logsumexp(alpha, dim=-1)


def project_simplex_box(w: torch.Tensor) -> torch.Tensor:
    """SDARTS' projection of perturbed weights: clamp to [0, 1], then rescale to sum 1 (a row that
    clamps to all zeros keeps its largest entry)."""
    c = w.clamp(0.0, 1.0)
    total = c.sum(-1, keepdim=True)
    if bool((total == 0).any()):
        c = torch.where(total == 0, torch.nn.functional.one_hot(w.argmax(-1), w.shape[-1]).to(w), c)
        total = c.sum(-1, keepdim=True)
    return c / total


class RobustMethod:
    """Base class of a collapse-robust method: does nothing until a subclass says what it changes.

    Attributes
    ----------
    name : str
        Registry name (``robust=`` of :func:`dnas.search`).
    """

    name: str = "none"

    def install(self, model: nn.Module) -> list[Robustified]:
        """Wrap every label's relaxation of ``model`` (once); returns the wrappers."""
        groups = bind(model)
        wrappers: dict[int, Robustified] = {}
        for group in groups.values():
            r = group.relaxation
            if not isinstance(r, Robustified):
                key = id(r)
                if key not in wrappers:
                    wrappers[key] = Robustified(r)
                group.relaxation = wrappers[key]
        self.wrappers = _installed(model)
        self.labels = len(groups)
        return self.wrappers

    def set_progress(self, fraction: float) -> None:
        """Called at the start of every epoch with the share of the search done (0 to 1)."""

    @contextlib.contextmanager
    def weight_step(self, searcher: Any, batch: tuple[torch.Tensor, Any]) -> Iterator[None]:
        """Context of one weight step (SDARTS perturbs α inside it)."""
        yield

    def options(self) -> dict[str, Any]:
        """The method's hyper-parameters (for reports and configs)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")
                and k not in ("wrappers", "labels")}

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({body})"


def _installed(model: nn.Module) -> list[Robustified]:
    seen: dict[int, Robustified] = {}
    for g in bind(model).values():
        if isinstance(g.relaxation, Robustified):
            seen.setdefault(id(g.relaxation), g.relaxation)
    return list(seen.values())


def linear(start: float, end: float, fraction: float) -> float:
    """``start`` at 0, ``end`` at 1, linear in between (clamped)."""
    f = min(max(float(fraction), 0.0), 1.0)
    return start + (end - start) * f


__all__ = ["RobustMethod", "Robustified", "beta_decay_loss", "linear", "project_simplex_box"]
