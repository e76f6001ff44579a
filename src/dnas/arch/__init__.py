"""Architectures: the discrete result of a search, derivation from α, and the fixed model."""

from dnas.arch.architecture import Architecture
from dnas.arch.derivation import ChosenInputs, SumOf, derive, fix

__all__ = ["Architecture", "ChosenInputs", "SumOf", "derive", "fix"]
