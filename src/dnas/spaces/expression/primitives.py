"""Symbolic primitives: the candidate operations on an edge of the expression space.

Each primitive is a tiny ``nn.Module`` of one input with learned coefficients, and knows its own
SymPy form. The names are those of AutoRA's DARTS theorist (``none``, ``add``, ``mult``,
``linear``, ``exp``, ``ln``, ... and the ``linear_*`` forms); where AutoRA's function has no free
coefficient we give it an outer scale ``c`` and an inner scale ``a``, ``c·f(a·x)``, so that laws
such as ``exp(5·x)`` or ``k·ln(x)`` are reachable on one edge. ``power`` (``c·x^a``),
``linear_power`` (``c·(a·x + b)^p``), ``square`` and ``cube`` are ours.

Numeric safety: every function whose domain is not the whole real line is guarded so a forward
pass never produces NaN or inf for finite input — ``exp`` clamps its argument, ``ln`` and
``power`` clamp theirs to ``[EPS, ∞)``, ``reciprocal`` keeps ``|x| >= EPS``. The guards only act
outside the function's domain (or far outside any sensible range), where the SymPy form is not
meant to be used either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy
import torch
import torch.nn.functional as F
from scipy.special import expit
from torch import nn

#: smallest magnitude a guarded argument may take (ln, power, reciprocal, ratio)
EPS = 1e-6
#: largest argument of exp (exp(40) ≈ 2.4e17 keeps float32 and float64 finite after products)
EXP_MAX = 40.0


def safe_exp(z: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.clamp(z, max=EXP_MAX))


def safe_log(z: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.clamp(z, min=EPS))


def safe_denominator(z: torch.Tensor) -> torch.Tensor:
    """``z`` with magnitude at least ``EPS`` (sign kept, 0 counted as positive)."""
    return torch.where(z < 0, torch.clamp(z, max=-EPS), torch.clamp(z, min=EPS))


class Primitive(nn.Module):
    """Base class: one input, scalar coefficients, three views of the same function.

    * :meth:`evaluate` — the torch function of the input and the coefficients (broadcasting, so
      one call can evaluate the primitive on many edges at once with stacked coefficients);
      ``forward(x)`` is ``evaluate`` with the module's own coefficients.
    * :meth:`terms` — the NumPy value with its exact partial derivatives in the input and in every
      coefficient (the constant fits of :mod:`dnas.estimators.fitting` use them as Jacobian).
    * :meth:`formula` — the SymPy form.

    Subclasses list their coefficients in ``coefficients`` (names, initial values); each becomes a
    scalar ``nn.Parameter`` of that name.
    """

    name: str = ""
    coefficients: tuple[tuple[str, float], ...] = ()

    def __init__(self) -> None:
        super().__init__()
        for cname, value in self.coefficients:
            setattr(self, cname, nn.Parameter(torch.tensor(float(value))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.evaluate(x, **{n: getattr(self, n) for n, _ in self.coefficients})

    @staticmethod
    def evaluate(x: torch.Tensor, **coefs: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def terms(x: np.ndarray, **coefs: float) -> tuple[Any, Any, dict[str, Any]]:  # pragma: no cover
        """``(value, ∂value/∂x, {coefficient: ∂value/∂coefficient})`` (arrays or scalars that
        broadcast against ``x``)."""
        raise NotImplementedError

    def coefficient_values(self) -> dict[str, float]:
        return {cname: float(getattr(self, cname).detach()) for cname, _ in self.coefficients}

    def sympy(self, x: sympy.Expr, values: dict[str, sympy.Expr] | None = None) -> sympy.Expr:
        """The primitive applied to ``x``; ``values`` overrides coefficient values (symbols)."""
        v = {k: sympy.Float(val) for k, val in self.coefficient_values().items()}
        v.update(values or {})
        return self.formula(x, **v)

    def formula(self, x, **v):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={val:.4g}" for k, val in self.coefficient_values().items())


_REGISTRY: dict[str, type[Primitive]] = {}


def _primitive(name: str, coefficients: tuple[tuple[str, float], ...] = ()):
    def deco(cls: type[Primitive]) -> type[Primitive]:
        cls.name = name
        cls.coefficients = coefficients
        _REGISTRY[name] = cls
        return cls

    return deco


# NumPy twins of the guarded torch functions, each with its derivative (0 where the guard acts)
def _np_exp(z):
    v = np.exp(np.minimum(z, EXP_MAX))
    return v, np.where(z <= EXP_MAX, v, 0.0)


def _np_log(z):
    return np.log(np.maximum(z, EPS)), np.where(z >= EPS, 1.0 / np.maximum(z, EPS), 0.0)


def _np_reciprocal(z):
    d = np.where(z < 0, -1.0, 1.0) * np.maximum(np.abs(z), EPS)
    return 1.0 / d, np.where(np.abs(z) >= EPS, -1.0 / (d * d), 0.0)


def _np_softplus(z):  # torch's softplus: the identity above 20
    return np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, 20.0)))), expit(z)


def _np_logistic(z):
    s = expit(z)
    return s, s * (1.0 - s)


def _np_relu(z):
    return np.maximum(z, 0.0), (z > 0).astype(np.float64)


def _np_tanh(z):
    t = np.tanh(z)
    return t, 1.0 - t * t


def _unary(
    name: str,
    torch_fn: Callable[[torch.Tensor], torch.Tensor],
    numpy_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    sympy_fn: Callable[[sympy.Expr], sympy.Expr],
    *,
    scale: bool,
    inner: bool,
    bias: bool,
) -> type[Primitive]:
    """Build ``c·f(a·x + b)`` with the chosen coefficients present (``numpy_fn`` gives f, f')."""
    coefs: list[tuple[str, float]] = []
    if scale:
        coefs.append(("c", 1.0))
    if inner:
        coefs.append(("a", 1.0))
    if bias:
        coefs.append(("b", 0.0))

    class _Op(Primitive):
        @staticmethod
        def evaluate(x, c=None, a=None, b=None):
            z = x * a if inner else x
            if bias:
                z = z + b
            out = torch_fn(z)
            return out * c if scale else out

        @staticmethod
        def terms(x, c=1.0, a=1.0, b=0.0):
            f, df = numpy_fn(a * x + b)
            scaled = c * df
            partials = {}
            if scale:
                partials["c"] = f
            if inner:
                partials["a"] = scaled * x
            if bias:
                partials["b"] = scaled
            return c * f, scaled * a, partials

        def formula(self, x, **v):
            z = v["a"] * x if inner else x
            if bias:
                z = z + v["b"]
            out = sympy_fn(z)
            return v["c"] * out if scale else out

    _Op.__name__ = _Op.__qualname__ = "".join(p.capitalize() for p in name.split("_"))
    _Op.__doc__ = f"Primitive ``{name}``."
    return _primitive(name, tuple(coefs))(_Op)


def _sym_relu(z):
    return sympy.Max(0, z)


def _sym_logistic(z):
    return 1 / (1 + sympy.exp(-z))


def _sym_softplus(z):
    return sympy.log(1 + sympy.exp(z))


@_primitive("none")
class Zero(Primitive):
    """``0``: the edge is absent."""

    @staticmethod
    def evaluate(x):
        return torch.zeros_like(x)

    @staticmethod
    def terms(x):
        return 0.0, 0.0, {}

    def formula(self, x, **v):
        return sympy.Integer(0)


@_primitive("add")
class Add(Primitive):
    """``x``: the input is added to the node."""

    @staticmethod
    def evaluate(x):
        return x

    @staticmethod
    def terms(x):
        return x, 1.0, {}

    def formula(self, x, **v):
        return x


@_primitive("subtract")
class Subtract(Primitive):
    """``-x``: the input is subtracted from the node."""

    @staticmethod
    def evaluate(x):
        return -x

    @staticmethod
    def terms(x):
        return -x, -1.0, {}

    def formula(self, x, **v):
        return -x


@_primitive("mult", (("a", 1.0),))
class Mult(Primitive):
    """``a·x``."""

    @staticmethod
    def evaluate(x, a):
        return a * x

    @staticmethod
    def terms(x, a):
        return a * x, a, {"a": x}

    def formula(self, x, **v):
        return v["a"] * x


@_primitive("linear", (("a", 1.0), ("b", 0.0)))
class Linear(Primitive):
    """``a·x + b``."""

    @staticmethod
    def evaluate(x, a, b):
        return a * x + b

    @staticmethod
    def terms(x, a, b):
        return a * x + b, a, {"a": x, "b": 1.0}

    def formula(self, x, **v):
        return v["a"] * x + v["b"]


@_primitive("power", (("c", 1.0), ("a", 1.0)))
class Power(Primitive):
    """``c·x^a`` for ``x > 0`` (dnas; reaches Stevens' law in one edge)."""

    @staticmethod
    def evaluate(x, c, a):
        return c * safe_exp(a * safe_log(x))

    @staticmethod
    def terms(x, c, a):
        log_x, dlog = _np_log(x)
        e, de = _np_exp(a * log_x)
        return c * e, c * de * a * dlog, {"c": e, "a": c * de * log_x}

    def formula(self, x, **v):
        return v["c"] * x ** v["a"]


@_primitive("square", (("c", 1.0),))
class Square(Primitive):
    """``c·x²`` for every real ``x`` (``power`` is for ``x > 0``)."""

    @staticmethod
    def evaluate(x, c):
        return c * x * x

    @staticmethod
    def terms(x, c):
        return c * x * x, 2.0 * c * x, {"c": x * x}

    def formula(self, x, **v):
        return v["c"] * x**2


@_primitive("cube", (("c", 1.0),))
class Cube(Primitive):
    """``c·x³`` for every real ``x``: odd powers of negative inputs."""

    @staticmethod
    def evaluate(x, c):
        return c * x * x * x

    @staticmethod
    def terms(x, c):
        return c * x**3, 3.0 * c * x * x, {"c": x**3}

    def formula(self, x, **v):
        return v["c"] * x**3


@_primitive("linear_power", (("c", 1.0), ("a", 1.0), ("b", 0.0), ("p", 1.0)))
class LinearPower(Primitive):
    """``c·(a·x + b)^p`` where ``a·x + b > 0``: the shifted power forms (``(1 - v²/c²)^-½``,
    ``√(x + 1)``)."""

    @staticmethod
    def evaluate(x, c, a, b, p):
        return c * safe_exp(p * safe_log(a * x + b))

    @staticmethod
    def terms(x, c, a, b, p):
        z = a * x + b
        log_z, dlog = _np_log(z)
        e, de = _np_exp(p * log_z)
        dz = c * de * p * dlog  # ∂value/∂z
        return c * e, dz * a, {"c": e, "a": dz * x, "b": dz, "p": c * de * log_z}

    def formula(self, x, **v):
        return v["c"] * (v["a"] * x + v["b"]) ** v["p"]


@_primitive("softminus", (("c", 1.0), ("a", 1.0)))
class Softminus(Primitive):
    """``x - c·ln(1 + exp(a·x))`` (AutoRA's softminus with a free scale)."""

    @staticmethod
    def evaluate(x, c, a):
        return x - c * F.softplus(a * x)

    @staticmethod
    def terms(x, c, a):
        sp, s = _np_softplus(a * x)
        return x - c * sp, 1.0 - c * s * a, {"c": -sp, "a": -c * s * x}

    def formula(self, x, **v):
        return x - v["c"] * _sym_softplus(v["a"] * x)


@_primitive("linear_softminus", (("c", 1.0), ("a", 1.0), ("b", 0.0)))
class LinearSoftminus(Primitive):
    """``x - c·ln(1 + exp(a·x + b))``."""

    @staticmethod
    def evaluate(x, c, a, b):
        return x - c * F.softplus(a * x + b)

    @staticmethod
    def terms(x, c, a, b):
        sp, s = _np_softplus(a * x + b)
        return x - c * sp, 1.0 - c * s * a, {"c": -sp, "a": -c * s * x, "b": -c * s}

    def formula(self, x, **v):
        return x - v["c"] * _sym_softplus(v["a"] * x + v["b"])


# c·f(a·x) and the linear_ forms c·f(a·x + b); relu is positively homogeneous, so no inner scale
_unary("relu", torch.relu, _np_relu, _sym_relu, scale=True, inner=False, bias=False)
_unary("linear_relu", torch.relu, _np_relu, _sym_relu, scale=True, inner=True, bias=True)
_unary("logistic", torch.sigmoid, _np_logistic, _sym_logistic, scale=True, inner=True,
       bias=False)
_unary("linear_logistic", torch.sigmoid, _np_logistic, _sym_logistic, scale=True, inner=True,
       bias=True)
_unary("exp", safe_exp, _np_exp, sympy.exp, scale=True, inner=True, bias=False)
# exp(a·x + b) already has a free scale (e^b): AutoRA's form, no outer c
_unary("linear_exp", safe_exp, _np_exp, sympy.exp, scale=False, inner=True, bias=True)
_unary("cos", torch.cos, lambda z: (np.cos(z), -np.sin(z)), sympy.cos, scale=True, inner=True,
       bias=False)
_unary("linear_cos", torch.cos, lambda z: (np.cos(z), -np.sin(z)), sympy.cos, scale=True,
       inner=True, bias=True)
_unary("sin", torch.sin, lambda z: (np.sin(z), np.cos(z)), sympy.sin, scale=True, inner=True,
       bias=False)
_unary("linear_sin", torch.sin, lambda z: (np.sin(z), np.cos(z)), sympy.sin, scale=True,
       inner=True, bias=True)
_unary("tanh", torch.tanh, _np_tanh, sympy.tanh, scale=True, inner=True, bias=False)
_unary("linear_tanh", torch.tanh, _np_tanh, sympy.tanh, scale=True, inner=True, bias=True)
# ln(a·x) = ln a + ln x: an inner scale would only duplicate the output bias
_unary("ln", safe_log, _np_log, sympy.log, scale=True, inner=False, bias=False)
_unary("linear_ln", safe_log, _np_log, sympy.log, scale=True, inner=True, bias=True)
_unary("reciprocal", lambda z: 1 / safe_denominator(z), _np_reciprocal, lambda z: 1 / z,
       scale=True, inner=False, bias=False)
_unary("linear_reciprocal", lambda z: 1 / safe_denominator(z), _np_reciprocal, lambda z: 1 / z,
       scale=True, inner=True, bias=True)
_unary("softplus", F.softplus, _np_softplus, _sym_softplus, scale=True, inner=True, bias=False)
_unary("linear_softplus", F.softplus, _np_softplus, _sym_softplus, scale=True, inner=True,
       bias=True)

#: every primitive name, in a stable order
PRIMITIVE_NAMES: tuple[str, ...] = tuple(_REGISTRY)

#: AutoRA's default search space (``autora.theorist.darts.operations.PRIMITIVES``)
AUTORA_PRIMITIVES: tuple[str, ...] = (
    "none", "add", "subtract", "linear", "linear_logistic", "mult", "linear_relu",
)

#: dnas' default: the shapes of the common laws of physics, psychophysics and learning, few
#: coefficients each — scaled sums, exp/log (also shifted: ``c·ln(a·x + b)``, Hick's
#: ``log(n + 1)``), powers (positive inputs, any exponent; also shifted: ``c·(a·x + b)^p``, which
#: also says ``√(x + 1)``), squares and cubes of any sign, sin/cos with a learned frequency and
#: phase (``c·sin(a·x + b)``: a phase of 0 is snapped away), reciprocals
DEFAULT_PRIMITIVES: tuple[str, ...] = (
    "none", "add", "subtract", "mult", "linear", "exp", "ln", "linear_ln", "power",
    "linear_power", "square", "cube", "linear_sin", "linear_cos", "reciprocal",
)


def primitive_names() -> tuple[str, ...]:
    """Names accepted in ``primitives=``."""
    return PRIMITIVE_NAMES


def check_primitives(primitives: object, parameter: str = "primitives") -> tuple[str, ...]:
    """Validate a sequence of primitive names; ``ValueError`` lists the valid ones."""
    if isinstance(primitives, str) or not hasattr(primitives, "__iter__"):
        raise ValueError(
            f"{parameter}={primitives!r} must be a list of primitive names; valid names: "
            f"{', '.join(PRIMITIVE_NAMES)}"
        )
    names = tuple(primitives)
    if not names:
        raise ValueError(f"{parameter} is empty; valid names: {', '.join(PRIMITIVE_NAMES)}")
    bad = [n for n in names if not isinstance(n, str) or n not in _REGISTRY]
    if bad:
        raise ValueError(
            f"unknown primitive(s) {bad} in {parameter}; valid names: {', '.join(PRIMITIVE_NAMES)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{parameter}={list(names)} names a primitive twice")
    return names


def primitive_value(name: str, x: np.ndarray, **coefs: float) -> np.ndarray:
    """The NumPy value of primitive ``name`` at ``x`` with the given coefficients (the same
    guarded form the fits use)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown primitive {name!r}; valid names: {', '.join(PRIMITIVE_NAMES)}")
    return _REGISTRY[name].terms(x, **coefs)[0]


def make_primitive(name: str) -> Primitive:
    """A fresh module for the primitive ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown primitive {name!r}; valid names: {', '.join(PRIMITIVE_NAMES)}")
    return _REGISTRY[name]()


__all__ = [
    "AUTORA_PRIMITIVES",
    "DEFAULT_PRIMITIVES",
    "EPS",
    "PRIMITIVE_NAMES",
    "Primitive",
    "check_primitives",
    "make_primitive",
    "primitive_names",
    "primitive_value",
    "safe_denominator",
    "safe_exp",
    "safe_log",
]
