"""Value choices: a width, kernel size, ratio or depth chosen among plain numbers.

A :class:`ValueChoice` is a labelled choice like :class:`~dnas.LayerChoice`: it owns an
:class:`~dnas.space.ArchParams` of kind ``"value"`` (bound by label, so two choices with one label
share α and every sample), and the *same* relaxation objects turn α into mixing weights
``w = relaxation.weights(α)`` over the values. What differs is where the mixture happens: inside a
searchable layer (:mod:`dnas.nn`) whose weights are shared by all values, e.g. for a width choice
over ``c_1 < ... < c_n`` channels the layer computes its widest output ``y`` once and returns

    ō(x) = Σ_j w_j · (y ⊙ 1[channel < c_j])          (FBNetV2's channel masking)

which is exactly Σ_j w_j · (the layer of width c_j, zero-padded to the widest).

Sizes may be arithmetic of choices and integers (``width * expansion``, ``width + 8``): a
:class:`ValueExpr` whose candidates are the values of every combination of its choices, weighted
by the product of their mixing weights (choices with different labels are independent).

The exported :class:`~dnas.Architecture` holds the chosen *value* of each label (``{"width": 32}``).
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from dnas.runtime.checks import plain_number
from dnas.space.modules import ArchParams, _check_label, _Choice

Number = int | float


def _is_number(v: Any) -> bool:
    """A finite real number, NumPy scalars included (``bool`` is not a number here)."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def value_name(v: Number) -> str:
    """The candidate name of a value (``32`` -> ``"32"``), used for α's labels in reports."""
    return repr(v)


class ValueParams(ArchParams):
    """The :class:`~dnas.space.ArchParams` of a value choice: also knows the values themselves.

    Parameters
    ----------
    values : sequence of int or float
        The candidate values, in order.
    label : str
        The label.
    """

    def __init__(self, values: Sequence[Number], label: str) -> None:
        super().__init__([value_name(v) for v in values], "value", label, 1)
        self.values: tuple[Number, ...] = tuple(values)

    def chosen(self, architecture: Mapping[str, Sequence[Any]]) -> Number:
        """The value ``architecture`` chooses for this label (``ValueError`` if it cannot).

        Accepts the value itself or its name (``"32"``)."""
        if self.label not in architecture:
            raise ValueError(f"architecture has no choice for value label {self.label!r}")
        picked = tuple(architecture[self.label])
        if len(picked) != 1:
            raise ValueError(
                f"value label {self.label!r} takes exactly one value, got {list(picked)}"
            )
        v = picked[0]
        for value in self.values:
            if (_is_number(v) and v == value) or v == value_name(value):
                return value
        raise ValueError(
            f"architecture chooses {v!r} for value label {self.label!r}, whose values are "
            f"{list(self.values)}"
        )


class _Arithmetic:
    """``+ - * //`` with numbers and other choices: sizes derived from choices."""

    def __add__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.add, self, other, "+")

    def __radd__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.add, other, self, "+")

    def __sub__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.sub, self, other, "-")

    def __rsub__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.sub, other, self, "-")

    def __mul__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.mul, self, other, "*")

    def __rmul__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.mul, other, self, "*")

    def __floordiv__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.floordiv, self, other, "//")

    def __rfloordiv__(self, other: Size) -> ValueExpr:
        return ValueExpr(operator.floordiv, other, self, "//")


class ValueChoice(_Choice, _Arithmetic):
    """Choose one of several numbers: a width, a kernel size, an expansion ratio, a depth.

    Use it as a size argument of dnas' searchable layers (:class:`dnas.nn.Conv2d`,
    :class:`dnas.nn.Linear`, :class:`dnas.nn.InvertedResidual`, ...) and as the depth of
    :class:`dnas.Repeat`. Pass the *same* object (or one with the same label) wherever the same
    size appears, e.g. as the ``out_channels`` of one convolution and the ``in_channels`` of the
    next. Arithmetic with integers and other choices gives a :class:`ValueExpr`.

    Parameters
    ----------
    values : sequence of int or float
        Distinct candidate values (at least one).
    label : str, optional
        Choices with equal labels share one set of architecture parameters (and must have the same
        values). A unique label is generated when omitted.

    Examples
    --------
    >>> width = ValueChoice([16, 32, 64], label="width")
    >>> kernel = ValueChoice([3, 5], label="k")
    >>> conv = dnas.nn.Conv2d(3, width, kernel_size=kernel)  # doctest: +SKIP
    >>> head = dnas.nn.Linear(width, 10)                     # doctest: +SKIP
    """

    def __init__(self, values: Sequence[Number], *, label: str | None = None) -> None:
        super().__init__()
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(
                f"values must be a list of numbers, got {type(values).__name__}"
            )
        values = tuple(values)
        if not values:
            raise ValueError("values is empty: a ValueChoice needs at least one value")
        bad = [v for v in values if not _is_number(v)]
        if bad:
            raise ValueError(f"values must be finite numbers (int or float), got {bad[0]!r}")
        values = tuple(plain_number(v) for v in values)
        if len(set(values)) != len(values):
            raise ValueError(f"values repeat: {list(values)}")
        self.arch = ValueParams(values, _check_label(label, "value"))

    @property
    def values(self) -> tuple[Number, ...]:
        """The candidate values, in order."""
        return cast(ValueParams, self.arch).values

    def weights(self) -> torch.Tensor:
        """This step's mixing weights over :attr:`values` (the installed relaxation's)."""
        num_on = getattr(self.arch.relaxation, "num_on", 1)
        if num_on != 1:
            raise ValueError(
                f"value choice {self.label!r}: method {self.arch.relaxation.name!r} with "
                f"num_on={num_on} activates several values at once, but a size takes one value; "
                "use num_on=1"
            )
        return self.arch.weights()

    def chosen(self, architecture: Mapping[str, Sequence[Any]]) -> Number:
        """The value ``architecture`` chooses for this label (``ValueError`` if it cannot)."""
        return cast(ValueParams, self.arch).chosen(architecture)

    def extra_repr(self) -> str:
        return f"label={self.label!r}, values={list(self.values)}"


class ValueExpr(_Arithmetic):
    """A number computed from value choices and constants (``width * 6``, ``a + b``).

    Built by arithmetic on :class:`ValueChoice`; not a module (its choices are registered by the
    layer that uses it).
    """

    def __init__(
        self, fn: Callable[[Any, Any], Any], left: Any, right: Any, symbol: str
    ) -> None:
        for side in (left, right):
            if not isinstance(side, (ValueChoice, ValueExpr)) and not _is_number(side):
                raise TypeError(
                    f"cannot combine a value choice with {type(side).__name__} ({side!r})"
                )
        left, right = (s if is_choice(s) else plain_number(s) for s in (left, right))
        if symbol == "//" and 0 in candidates(right):
            raise ValueError(f"{_show(left)} // {_show(right)}: the divisor can be 0")
        self.fn, self.left, self.right, self.symbol = fn, left, right, symbol

    def evaluate(self, assignment: Mapping[str, Number]) -> Number:
        """The value for ``{label: value}`` of every choice involved."""
        return self.fn(evaluate(self.left, assignment), evaluate(self.right, assignment))

    def __repr__(self) -> str:
        return f"({_show(self.left)} {self.symbol} {_show(self.right)})"


def _show(s: Any) -> str:
    """A size in messages: a choice by its label, arithmetic and numbers as written."""
    return s.label if isinstance(s, ValueChoice) else repr(s)


#: A size argument of a searchable layer: a plain number, a choice, or arithmetic of choices.
Size = int | float | ValueChoice | ValueExpr


def is_choice(size: Any) -> bool:
    """Whether ``size`` depends on a value choice."""
    return isinstance(size, (ValueChoice, ValueExpr))


def choice_objects(size: Size) -> Iterator[ValueChoice]:
    """Every :class:`ValueChoice` object ``size`` reads (repeats included)."""
    if isinstance(size, ValueChoice):
        yield size
    elif isinstance(size, ValueExpr):
        yield from choice_objects(size.left)
        yield from choice_objects(size.right)


def leaves(size: Size) -> list[ValueChoice]:
    """The choices ``size`` depends on, one per label, in order of first appearance."""
    seen: dict[str, ValueChoice] = {}
    for c in choice_objects(size):
        seen.setdefault(c.label, c)
    return list(seen.values())


def evaluate(size: Size, assignment: Mapping[str, Number]) -> Number:
    """The value of ``size`` when each label takes the value in ``assignment``."""
    if isinstance(size, ValueChoice):
        if size.label not in assignment:
            raise ValueError(f"no value given for label {size.label!r}")
        return assignment[size.label]
    if isinstance(size, ValueExpr):
        return size.evaluate(assignment)
    return size


def combinations(size: Size) -> tuple[list[ValueChoice], list[Number]]:
    """``size``'s choices (one per label) and its value at every combination of their values.

    Combinations are in :func:`itertools.product` order over the choices' values, which is the
    order of :func:`combination_weights`.
    """
    ls = leaves(size)
    values = [
        evaluate(size, {c.label: v for c, v in zip(ls, combo)})
        for combo in itertools.product(*(c.values for c in ls))
    ]
    return ls, values


def combination_weights(choices: Sequence[ValueChoice]) -> torch.Tensor:
    """Mixing weight of every combination of ``choices``' values: the outer product, flattened."""
    w = choices[0].weights()
    for c in choices[1:]:
        w = (w.unsqueeze(-1) * c.weights().unsqueeze(0)).reshape(-1)
    return w


def candidates(size: Size) -> list[Number]:
    """Every value ``size`` can take (sorted, distinct)."""
    if not is_choice(size):
        return [size]  # type: ignore[list-item]
    return sorted(set(combinations(size)[1]))


def max_value(size: Size) -> Number:
    """The largest value ``size`` can take (a layer's weights are allocated at it)."""
    return max(candidates(size))


def resolve(size: Size, architecture: Mapping[str, Sequence[Any]]) -> Number:
    """The value of ``size`` under ``architecture`` (each choice's chosen value)."""
    return evaluate(size, {c.label: c.chosen(architecture) for c in leaves(size)})


def check_size(name: str, size: Any, *, low: int = 1, odd: bool = False) -> Size:
    """``size`` if every value it can take is an integer ``>= low`` (and odd when asked); a plain
    number comes back as a Python ``int`` (``np.int64(8)`` -> ``8``)."""
    if not is_choice(size) and not _is_number(size):
        raise TypeError(
            f"{name}={size!r} must be an int, a dnas.ValueChoice or arithmetic of them"
        )
    for v in candidates(size):
        if isinstance(v, float) and not v.is_integer():
            raise ValueError(f"{name}={_show(size)} can take the non-integer value {v!r}")
        if int(v) < low or (odd and int(v) % 2 == 0):
            need = f"an odd integer >= {low}" if odd else f"an integer >= {low}"
            raise ValueError(f"{name}={_show(size)} can take the value {v!r}; it must be {need}")
    return size if is_choice(size) else int(size)


def value_support(method: str) -> str:
    """How relaxation ``method`` treats value choices and searchable depth (``dnas methods``).

    Every relaxation relaxes them through its mixing weights (:meth:`Relaxation.weights`); what
    differs is what those weights are.
    """
    from dnas.relaxations.binary import GateRelaxation
    from dnas.relaxations.gdas import HardGumbel
    from dnas.relaxations.pc_darts import PartialChannels
    from dnas.relaxations.registry import create

    r = create(method)
    if isinstance(r, GateRelaxation):
        return ("yes with num_on=1: one-hot gates, the binary-gate gradient of every value (all "
                "values share one computation)")
    if isinstance(r, HardGumbel):
        return "yes: one-hot Gumbel weights, straight-through gradient"
    if isinstance(r, PartialChannels):
        return "yes: softmax weights (partial channels apply to LayerChoice only)"
    known = {"darts": "softmax weights", "drnas": "Dirichlet-sampled weights",
             "fair-darts": "independent sigmoid weights (normalised for the expected cost)"}
    return f"yes: {known.get(method, 'the method’s mixing weights over the values')}"


class ChosenValue(nn.Module):
    """What :func:`dnas.fix` leaves where a model held a :class:`ValueChoice` itself."""

    def __init__(self, value: Number) -> None:
        super().__init__()
        self.value = value

    def extra_repr(self) -> str:
        return f"value={self.value!r}"


__all__ = [
    "ChosenValue",
    "Size",
    "ValueChoice",
    "ValueExpr",
    "ValueParams",
    "candidates",
    "check_size",
    "choice_objects",
    "combination_weights",
    "combinations",
    "evaluate",
    "is_choice",
    "leaves",
    "max_value",
    "resolve",
    "value_name",
    "value_support",
]
