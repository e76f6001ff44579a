"""Search-space API: labelled choices (layers, inputs, values, depth) and their architecture
parameters."""

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
from dnas.space.repeat import Repeat
from dnas.space.searchable import Searchable
from dnas.space.value import ValueChoice, ValueExpr

__all__ = [
    "ArchParams",
    "InputChoice",
    "LayerChoice",
    "Repeat",
    "Searchable",
    "ValueChoice",
    "ValueExpr",
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
