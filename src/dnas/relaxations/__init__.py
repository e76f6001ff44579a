"""Relaxations: one small object per method, registered by ``method=`` name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from dnas.relaxations import (  # noqa: F401  (fill the registry)
    binary,
    darts,
    drnas,
    fair,
    gdas,
    moving_average,
    pc_darts,
)
from dnas.relaxations.base import Relaxation
from dnas.relaxations.registry import create, methods, register
from dnas.space.binding import bind, choices


def relax(
    model: nn.Module,
    method: str | Relaxation = "darts",
    *,
    per_label: Mapping[str, str | Relaxation] | None = None,
    **options: Any,
) -> Relaxation:
    """Bind shared labels and install a relaxation on every choice of ``model`` (in place).

    Parameters
    ----------
    model : nn.Module
        A module containing :class:`~dnas.LayerChoice` / :class:`~dnas.InputChoice`.
    method : str or Relaxation, default "darts"
        A name from :func:`methods` (built with ``options``) or a relaxation instance.
    per_label : dict, optional
        ``{label: method or Relaxation}`` overriding ``method`` for some labels.

    Returns
    -------
    Relaxation
        The default relaxation (shared by all labels not in ``per_label``).
    """
    default = method if isinstance(method, Relaxation) else create(method, **options)
    groups = bind(model)
    if not groups:
        raise ValueError(
            "model has no LayerChoice or InputChoice: there is nothing to search"
        )
    per_label = dict(per_label or {})
    unknown = sorted(set(per_label) - set(groups))
    if unknown:
        raise ValueError(f"per_label names unknown labels {unknown}; labels are {sorted(groups)}")
    for label, group in groups.items():
        r = per_label.get(label, default)
        group.relaxation = r if isinstance(r, Relaxation) else create(r)
        group.sample = None
    for _, choice in choices(model):  # per-choice state of the relaxation (moving averages)
        choice.arch.relaxation.attach(choice)
    return default


def installed_relaxations(model: nn.Module) -> list[Relaxation]:
    """The distinct relaxation objects installed on ``model``."""
    seen: dict[int, Relaxation] = {}
    for g in bind(model).values():
        seen.setdefault(id(g.relaxation), g.relaxation)
    return list(seen.values())


__all__ = ["Relaxation", "create", "installed_relaxations", "methods", "register", "relax"]
