"""Built-in search spaces: plain modules holding labelled choices.

* :mod:`dnas.spaces.darts`: the DARTS cell space (search and retraining networks, 1-D and 2-D);
* :mod:`dnas.spaces.expression`: the symbolic expression space behind ``DARTSRegressor``;
* :mod:`dnas.spaces.mbconv`: MobileNetV2/ProxylessNAS-style inverted residual stages with
  searchable widths, depths, kernel sizes and expansion ratios (1-D and 2-D);
* :mod:`dnas.spaces.nb201`: the NAS-Bench-201 cell space (1-D and 2-D), its string format and
  canonical forms.

Submodules are imported on first access (the expression space pulls in SymPy).
"""

from __future__ import annotations

import importlib
from types import ModuleType

_SUBMODULES = ("darts", "expression", "mbconv", "nb201")


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        return importlib.import_module(f"dnas.spaces.{name}")
    raise AttributeError(f"module 'dnas.spaces' has no attribute {name!r}")


__all__ = list(_SUBMODULES)
