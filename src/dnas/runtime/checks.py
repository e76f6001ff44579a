"""Checking user-given values, with one message style.

Every check raises with a message that names the parameter, shows the value and says what is
allowed: ``epochs=-1 must be an integer >= 0``, ``amp='fp8' must be one of 'auto', 'bf16', 'off'``.
Numbers must be finite (``inf`` and NaN are refused unless a check says otherwise), and options that
end up in float32 arithmetic (learning rates, decays) are bounded by :data:`FLOAT32_MAX`, beyond
which they overflow to ``inf`` at the first step.
A value of the wrong kind raises :class:`ParameterError`, which is both a ``ValueError`` and a
``TypeError`` (as scikit-learn's ``InvalidParameterError``), so callers catching either see it; a
value of the right kind out of range raises ``ValueError``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeVar, cast

import numpy as np

T = TypeVar("T")

#: The largest float32: a learning rate or decay above it is ``inf`` once it meets a float32 tensor.
FLOAT32_MAX = 3.4028234663852886e38
#: Seeds: what every generator dnas seeds accepts (torch's, NumPy's, the legacy ``RandomState``).
SEED_MAX = 2**32 - 1


class ParameterError(ValueError, TypeError):
    """A parameter of the wrong kind (a string where a number belongs, a bool for an integer)."""


def _fail(name: str, value: Any, allowed: str, kind_error: bool) -> NoReturn:
    cls = ParameterError if kind_error else ValueError
    raise cls(f"{name}={value!r} must be {allowed}")


def _number(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return (f"in {'(' if low_open else '['}{_number(low)}, {_number(high)}"
                f"{')' if high_open else ']'}")
    if low is not None:
        return f"{'>' if low_open else '>='} {_number(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {_number(high)}"
    return ""


def _in_range(
    value: float, low: float | None, high: float | None, low_open: bool, high_open: bool
) -> bool:
    if low is not None and (value <= low if low_open else value < low):
        return False
    return not (high is not None and (value >= high if high_open else value > high))


def check_int(
    name: str,
    value: Any,
    low: int | None = None,
    high: int | None = None,
    *,
    none_ok: bool = False,
) -> Any:
    """``value`` as given when it is an integer in ``[low, high]`` (bounds optional).

    Booleans are not integers here; NumPy integers are. With ``none_ok``, ``None`` passes.
    """
    if none_ok and value is None:
        return None
    allowed = " ".join(
        t for t in ("an integer", _range_text(low, high, False, False)) if t
    ) + (" or None" if none_ok else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(name, value, allowed, True)
    if not _in_range(int(value), low, high, False, False):
        _fail(name, value, allowed, False)
    return value


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    none_ok: bool = False,
    finite: bool = True,
) -> Any:
    """``value`` as given when it is a real number (not NaN, not a bool) in the range.

    ``low_open`` / ``high_open`` exclude the bound: ``check_float("p", p, 0, 1, high_open=True)``
    allows ``[0, 1)``. With ``none_ok``, ``None`` passes. ``inf`` and ``-inf`` fail unless
    ``finite=False`` (e.g. a limit whose ``inf`` means "none").
    """
    if none_ok and value is None:
        return None
    bounded = low is not None and high is not None  # a finite range says "finite" already
    allowed = " ".join(
        t for t in ("a finite number" if finite and not bounded else "a number",
                    _range_text(low, high, low_open, high_open)) if t
    ) + (" or None" if none_ok else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(name, value, allowed, True)
    try:
        as_float = float(value)
    except OverflowError:  # an integer beyond every float (10**400)
        as_float = math.inf if cast(float, value) > 0 else -math.inf
    if (math.isnan(as_float) or (finite and math.isinf(as_float))
            or not _in_range(as_float, low, high, low_open, high_open)):
        _fail(name, value, allowed, False)
    return value


def check_seed(name: str, value: Any, *, none_ok: bool = False) -> Any:
    """``value`` when it is an integer seed in ``[0, 2**32 - 1]`` (:data:`SEED_MAX`)."""
    return check_int(name, value, 0, SEED_MAX, none_ok=none_ok)


def check_choice(name: str, value: T, choices: Iterable[Any]) -> T:
    """``value`` when it is one of ``choices`` (compared with ``==``; unhashable values fail)."""
    options = list(choices)
    try:
        ok = any(
            c is value or (isinstance(value, bool) == isinstance(c, bool) and bool(value == c))
            for c in options
        )
    except (TypeError, ValueError):  # e.g. an array compared elementwise
        ok = False
    if not ok:
        shown = ", ".join(repr(c) for c in options)
        _fail(name, value, f"one of {shown}", False)
    return value


def check_mapping(name: str, value: Any) -> dict[str, Any]:
    """``value`` as a ``dict`` when it is a mapping with text keys whose numbers (in nested lists
    and mappings too) are finite; e.g. a relaxation's options."""
    if not isinstance(value, Mapping):
        _fail(name, value, "a mapping of name: value", True)
    stack: list[tuple[str, Any]] = [(name, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, Mapping):
            for k, item in v.items():
                if not isinstance(k, str):
                    _fail(where, dict(v), "a mapping with text keys", True)
                stack.append((f"{where}[{k!r}]", item))
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            check_float(where, v)
    return dict(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` when it is ``True`` or ``False`` (NumPy booleans included)."""
    if value is True or value is False or isinstance(value, np.bool_):
        return bool(value)
    _fail(name, value, "True or False", True)


def plain_number(value: Any) -> Any:
    """A real number as a Python ``int`` or ``float`` (``np.int64(32)`` -> ``32``; ``bool``
    and anything that is not a real number come back as given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


__all__ = [
    "FLOAT32_MAX",
    "SEED_MAX",
    "ParameterError",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_mapping",
    "check_seed",
    "plain_number",
]
