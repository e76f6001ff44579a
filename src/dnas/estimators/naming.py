"""The regressor's symbols and units: safe names for the features, and the power-of-ten scales
that keep extreme data inside float64's comfortable range.

A feature name becomes the equation's symbol only when it reads back as that symbol: a Python
identifier that SymPy parses to a plain ``Symbol`` of the same name (not ``E``, ``I``, ``pi``,
``exp``, ``gamma``, ``lambda``, ...), that is not the output's name (``y``), a node's (``k1``) or
a fitted constant's (``theta_0``). Any other name is given the symbol ``x<i>`` (its column number),
and the estimator shows the mapping.

Data whose magnitudes lie far from 1 (y around 1e300 overflows when squared; 1e-300 underflows)
are divided by a power of ten per column before the search, and the equation is scaled back: a
power of ten is exact in the printed constants and changes no law's form.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Sequence

import numpy as np
import sympy

#: names the equation's text uses for other things: the output and the graph's nodes/constants
RESERVED = re.compile(r"y|k\d+|k_\d+|theta_\d+")
#: magnitudes outside [SMALL, LARGE] are rescaled by a power of ten
LARGE, SMALL = 1e4, 1e-4


def readable_as_symbol(name: str) -> bool:
    """Whether ``name`` is safe as a SymPy symbol in the equation's text."""
    if not name.isidentifier() or keyword.iskeyword(name) or RESERVED.fullmatch(name):
        return False
    try:
        parsed = sympy.sympify(name)
    except (sympy.SympifyError, SyntaxError, TypeError, AttributeError, ValueError):
        return False
    return isinstance(parsed, sympy.Symbol) and parsed.name == name


def safe_symbols(names: Sequence[str]) -> list[str]:
    """One distinct, safe symbol name per feature (the name itself where it is safe)."""
    keep = [n if readable_as_symbol(n) else None for n in names]
    seen: set[str] = set()
    for i, n in enumerate(keep):  # a repeated name is as ambiguous as an unsafe one
        if n is not None and n in seen:
            keep[i] = None
        elif n is not None:
            seen.add(n)
    out = []
    for i, n in enumerate(keep):
        if n is None:
            n = f"x{i + 1}"
            while n in seen:
                n += "_"
            seen.add(n)
        out.append(n)
    return out


def decade_scale(values: np.ndarray) -> float:
    """``10**round(log10(max |v|))`` when that magnitude is outside [SMALL, LARGE], else 1."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if top == 0.0 or SMALL <= top <= LARGE:
        return 1.0
    return float(10.0 ** round(math.log10(top)))


__all__ = ["LARGE", "RESERVED", "SMALL", "decade_scale", "readable_as_symbol", "safe_symbols"]
