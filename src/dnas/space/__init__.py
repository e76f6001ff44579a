"""Search-space API: labelled choices and their architecture parameters."""

from dnas.space.binding import (
    arch_groups,
    arch_parameters,
    bind,
    choices,
    named_arch_parameters,
    named_weight_parameters,
    resample,
    summary,
    weight_parameters,
)
from dnas.space.modules import ArchParams, InputChoice, LayerChoice

__all__ = [
    "ArchParams",
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
