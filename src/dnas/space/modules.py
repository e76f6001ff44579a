"""Labelled choices: what may be searched.

A :class:`LayerChoice` picks one (or ``k``) of several candidate modules; an :class:`InputChoice`
picks ``k`` of ``n`` input tensors. Each choice owns an :class:`ArchParams` (its architecture logits
``alpha`` and the relaxation that turns them into mixing weights). Choices that share a label are
bound to *one* :class:`ArchParams` by :func:`dnas.space.bind` (called by :func:`dnas.relax`,
:func:`dnas.search` and the parameter helpers), so they share α and every sample drawn from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from dnas.relaxations.base import Relaxation

_auto_label = itertools.count()


def _check_label(label: str | None, kind: str) -> str:
    if label is None:
        return f"{kind}_{next(_auto_label)}"
    if not isinstance(label, str) or not label or "." in label:
        raise ValueError(
            f"label={label!r} is not allowed: a label must be a non-empty string without '.'"
        )
    return label


class ArchParams(nn.Module):
    """Architecture logits α of one label, and the per-step sample drawn from them.

    Parameters
    ----------
    names : sequence of str
        Candidate names, in order (LayerChoice), or ``"0".."n-1"`` (InputChoice).
    kind : {"layer", "input"}
        Which kind of choice the label belongs to.
    label : str
        The label.
    n_chosen : int
        How many candidates the exported architecture keeps.

    Attributes
    ----------
    alpha : nn.Parameter
        Logits, one per candidate (initialised to ``1e-3 * N(0, 1)`` as in DARTS).
    relaxation : Relaxation
        The object that maps α to mixing weights (set by :func:`dnas.relax`).
    sample : Any
        The relaxation's sample for the current step (noise or indices), shared by every choice
        bound to this label. ``None`` until :meth:`resample` is called.
    """

    def __init__(self, names: Sequence[str], kind: str, label: str, n_chosen: int = 1) -> None:
        super().__init__()
        self.names = tuple(names)
        self.kind = kind
        self.label = label
        self.n_chosen = n_chosen
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(self.names)))
        from dnas.relaxations.darts import Softmax  # local import: relax imports space

        self.relaxation: Relaxation = Softmax()
        self.sample: Any = None
        # parameter count of each candidate (LayerChoice only), for size-proportional α decay
        self.candidate_sizes: tuple[int, ...] = (0,) * len(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def weights(self, alpha: torch.Tensor | None = None) -> torch.Tensor:
        """Mixing weights for this step (differentiable in α where the method allows)."""
        return self.relaxation.weights(self.alpha if alpha is None else alpha, self)

    def resample(self, generator: torch.Generator | None = None) -> None:
        """Draw this step's sample (no-op for deterministic relaxations)."""
        self.sample = self.relaxation.resample(self.alpha.detach(), self, generator)

    def probabilities(self) -> torch.Tensor:
        """The distribution over candidates that α currently expresses (detached)."""
        with torch.no_grad():
            return self.relaxation.probabilities(self.alpha.detach())

    def extra_repr(self) -> str:
        return f"label={self.label!r}, kind={self.kind}, n={len(self.names)}"


class _Choice(nn.Module):
    arch: ArchParams

    @property
    def label(self) -> str:
        return self.arch.label

    @property
    def names(self) -> tuple[str, ...]:
        return self.arch.names


class LayerChoice(_Choice):
    """Choose among candidate operations.

    Parameters
    ----------
    candidates : dict[str, nn.Module] or list[nn.Module]
        The candidate operations; a list gets names ``"0"``, ``"1"``, ...
    label : str, optional
        Choices with equal labels share one set of architecture parameters (and must have the same
        candidate names). A unique label is generated when omitted.
    n_chosen : int, default 1
        How many candidates the exported architecture keeps; with ``k > 1`` the fixed model sums
        the top-``k`` candidates.

    Examples
    --------
    >>> op = LayerChoice({"conv": nn.Conv2d(4, 4, 3, padding=1), "skip": nn.Identity()}, label="e0")
    """

    def __init__(
        self,
        candidates: Mapping[str, nn.Module] | Sequence[nn.Module],
        *,
        label: str | None = None,
        n_chosen: int = 1,
    ) -> None:
        super().__init__()
        if isinstance(candidates, Mapping):
            items = list(candidates.items())
        elif isinstance(candidates, Sequence) and not isinstance(candidates, (str, bytes)):
            items = [(str(i), m) for i, m in enumerate(candidates)]
        else:
            raise TypeError(
                f"candidates must be a dict of name -> nn.Module or a list of nn.Module, "
                f"got {type(candidates).__name__}"
            )
        if len(items) < 1:
            raise ValueError("candidates is empty: a LayerChoice needs at least one candidate")
        for name, module in items:
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"candidate name {name!r} must be a non-empty string without '.'")
            if not isinstance(module, nn.Module):
                raise TypeError(
                    f"candidate {name!r} is a {type(module).__name__}, expected an nn.Module"
                )
        if not 1 <= n_chosen <= len(items):
            raise ValueError(f"n_chosen={n_chosen} must be between 1 and {len(items)}")
        self.candidates = nn.ModuleDict(dict(items))
        label = _check_label(label, "layer")
        self.arch = ArchParams([n for n, _ in items], "layer", label, n_chosen)
        self.arch.candidate_sizes = tuple(
            sum(p.numel() for p in m.parameters()) for _, m in items
        )

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.arch.relaxation.mix(self, args, kwargs)

    def extra_repr(self) -> str:
        return f"label={self.label!r}, candidates={list(self.names)}"


class InputChoice(_Choice):
    """Choose ``n_chosen`` of ``n_candidates`` input tensors.

    Parameters
    ----------
    n_candidates : int
        Number of inputs ``forward`` receives.
    n_chosen : int, default 1
        How many inputs the exported architecture keeps.
    label : str, optional
        Shared-label semantics as for :class:`LayerChoice`.
    reduction : {"sum", "mean"}, default "sum"
        How the fixed model combines the chosen inputs.
    """

    def __init__(
        self,
        n_candidates: int,
        n_chosen: int = 1,
        *,
        label: str | None = None,
        reduction: str = "sum",
    ) -> None:
        super().__init__()
        if isinstance(n_candidates, bool) or not isinstance(n_candidates, int) or n_candidates < 1:
            raise ValueError(f"n_candidates={n_candidates!r} must be a positive integer")
        if (isinstance(n_chosen, bool) or not isinstance(n_chosen, int)
                or not 1 <= n_chosen <= n_candidates):
            raise ValueError(f"n_chosen={n_chosen!r} must be an integer in [1, {n_candidates}]")
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction={reduction!r} is not one of 'sum', 'mean'")
        self.n_candidates = n_candidates
        self.n_chosen = n_chosen
        self.reduction = reduction
        label = _check_label(label, "input")
        self.arch = ArchParams([str(i) for i in range(n_candidates)], "input", label, n_chosen)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(inputs) != self.n_candidates:
            raise ValueError(
                f"InputChoice {self.label!r} expects {self.n_candidates} inputs, got {len(inputs)}"
            )
        return self.arch.relaxation.mix_inputs(self, inputs)

    def extra_repr(self) -> str:
        return f"label={self.label!r}, n_candidates={self.n_candidates}, n_chosen={self.n_chosen}"


Choice = LayerChoice | InputChoice
