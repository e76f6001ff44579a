"""Collapse-robust differentiable NAS: one small module per paper, composable with every relaxation.

=================  =====================================================  ====================
``robust=``        what it changes                                         module
=================  =====================================================  ====================
``beta-darts``     + λ(t)·mean_e logsumexp(α_e) on the α objective         :mod:`.beta_decay`
``darts-minus``    + β(t)·x on every edge, β: 1 → 0                        :mod:`.auxiliary_skip`
``sdarts-rs``      w trained under softmax(α) + U[-ε, ε], ε: 0.03 → 0.3    :mod:`.smoothing`
``sdarts-adv``     w trained under the worst δ in the ε-ball (7-step PGD)  :mod:`.smoothing`
=================  =====================================================  ====================

and DARTS-PT's export rule, ``select="perturbation"`` (:mod:`.perturbation`), usable after any
search. ``dnas.search(model, train, valid, method="darts", robust="beta-darts")``.
"""

from __future__ import annotations

from typing import Any

from dnas.robust.auxiliary_skip import AuxiliarySkip
from dnas.robust.base import Robustified, RobustMethod, beta_decay_loss, project_simplex_box
from dnas.robust.beta_decay import BetaDecay
from dnas.robust.perturbation import project, supernet_accuracy
from dnas.robust.smoothing import AdversarialSmoothing, RandomSmoothing

_METHODS: dict[str, type[RobustMethod]] = {
    cls.name: cls for cls in (BetaDecay, AuxiliarySkip, RandomSmoothing, AdversarialSmoothing)
}

#: The papers' hyper-parameters (the defaults of each class, spelled out).
PRESETS: dict[str, dict[str, Any]] = {
    "beta-darts": {"weight_start": 0.0, "weight_end": 50.0},      # Ye et al. 2022, code
    "darts-minus": {"beta_start": 1.0, "beta_end": 0.0},           # Chu et al. 2021, sec. 3.2
    "sdarts-rs": {"epsilon_start": 0.03, "epsilon_end": 0.3},      # Chen & Hsieh 2020, code
    "sdarts-adv": {"epsilon_start": 0.03, "epsilon_end": 0.3, "steps": 7},
}

#: Export rules ``select=`` accepts: the relaxation's own rule, or DARTS-PT's.
SELECTIONS: tuple[str, ...] = ("default", "perturbation")


def robust_methods() -> list[str]:
    """Names accepted by ``robust=``."""
    return sorted(_METHODS)


def create(name: str, **options: Any) -> RobustMethod:
    """The robust method ``name`` with its paper preset, then ``options``."""
    if not isinstance(name, str) or name not in _METHODS:
        raise ValueError(f"unknown robust={name!r}; valid: {', '.join(robust_methods())}")
    values = {**PRESETS.get(name, {}), **options}
    try:
        return _METHODS[name](**values)
    except TypeError as err:
        raise ValueError(f"bad options for robust={name!r}: {err}") from None


__all__ = [
    "PRESETS",
    "SELECTIONS",
    "AdversarialSmoothing",
    "AuxiliarySkip",
    "BetaDecay",
    "RandomSmoothing",
    "RobustMethod",
    "Robustified",
    "beta_decay_loss",
    "create",
    "project",
    "project_simplex_box",
    "robust_methods",
    "supernet_accuracy",
]
