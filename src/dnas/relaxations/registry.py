"""Registry of relaxations by ``method`` name.

A class is registered under the name it answers to, stated once in the decorator. A class that
implements several published methods is registered once per method, each a *preset*: keyword
values the method fixes (``fixed``, not overridable) or starts from (``defaults``); such a class
takes ``name=`` in its constructor, so that each instance reports the method it was built as.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dnas.relaxations.base import Relaxation

R = TypeVar("R", bound=type)


@dataclass(frozen=True)
class Preset:
    """One registered method: its class and the keyword values it fixes or starts from."""

    cls: type[Relaxation]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    named: bool = False  # the constructor takes name= (a class registered as presets)

    def options(self) -> list[str]:
        """The keyword options a user may pass for this method."""
        if self.cls.__init__ is object.__init__:
            return []
        params = inspect.signature(self.cls.__init__).parameters
        return [
            n for n, p in params.items()
            if n not in ("self", "name") and n not in self.fixed
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]


    def takes_any(self) -> bool:
        """Whether the constructor takes ``**kwargs`` (then it says itself what it rejects)."""
        if self.cls.__init__ is object.__init__:
            return False
        params = inspect.signature(self.cls.__init__).parameters.values()
        return any(p.kind is p.VAR_KEYWORD for p in params)


_REGISTRY: dict[str, Preset] = {}


def register(
    name: str,
    *,
    defaults: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> Callable[[R], R]:
    """Class decorator: make a relaxation available as ``method=name``.

    Without ``defaults``/``fixed`` the class *is* the method: its ``name`` attribute is set here.
    With them the registration is a preset of a class that takes ``name=``.
    """

    def deco(cls: R) -> R:
        if name in _REGISTRY:
            raise ValueError(f"relaxation {name!r} is registered twice")
        named = defaults is not None or fixed is not None
        if not named:
            cls.name = name  # type: ignore[attr-defined]
        _REGISTRY[name] = Preset(cls, dict(defaults or {}), dict(fixed or {}), named)
        return cls

    return deco


def methods() -> list[str]:
    """Names accepted by ``method=``."""
    return sorted(_REGISTRY)


def preset(method: str) -> Preset:
    """The registration of ``method`` (class, defaults, fixed values)."""
    if not isinstance(method, str) or method not in _REGISTRY:
        raise ValueError(f"unknown method={method!r}; valid methods: {', '.join(methods())}")
    return _REGISTRY[method]


def create(method: str, **options: Any) -> Relaxation:
    """Build the relaxation named ``method`` with ``options``; clear errors for bad input."""
    entry = preset(method)
    allowed = entry.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown and not entry.takes_any():
        raise ValueError(
            f"bad options for method={method!r}: {unknown} not accepted; "
            f"its options are {allowed or 'none'}"
        )
    kwargs = {**entry.defaults, **options, **entry.fixed}
    if entry.named:
        kwargs["name"] = method
    try:
        return entry.cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad options for method={method!r}: {err}") from None
