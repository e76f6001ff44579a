"""The typed options of a command: one schema for YAML files and flags alike.

Every option has one type: the config dataclass' annotation for its fields
(:class:`dnas.SearchConfig`, :class:`dnas.train.RetrainConfig`), :data:`SEARCH_TYPES` /
:data:`RETRAIN_TYPES` for the command's own. :func:`coerce` turns a value into that type the same
way whether it came from a flag (always text: ``--seed 1e23``) or from YAML (typed, but YAML 1.1
reads ``3e-4`` as the string ``"3e-4"``): numbers written as text are read as numbers, ``true`` /
``false`` as booleans, ``none`` / ``null`` as None where None is allowed. A value of another kind
is one :class:`~dnas.runtime.checks.ParameterError` naming the option, the value and the type
(``out=7 must be a path (text)``); ranges are checked afterwards, where each option's range lives
(the config dataclasses, the command's checks), in the same message style.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from dnas.runtime.checks import ParameterError


class PathText(str):
    """The type of an option that names a file or folder (text, not empty, no NUL)."""


#: the command-level options of ``dnas search`` (the rest are SearchConfig fields)
SEARCH_TYPES: dict[str, Any] = {
    "space": str, "dim": int | None, "data": str, "data_root": PathText | None,
    "cache_dir": PathText | None, "channels": int | None, "layers": int | None,
    "n_train": int | None, "out": PathText | None, "checkpoint_every": int, "amp": str,
    "channels_last": bool, "compile": bool, "threads": int | None, "crop_padding": int,
    "flip": bool,
    # cost-aware search (dnas.cli.budget) and the mbconv space's options
    "budget_params": float | None, "budget_flops": float | None, "budget_latency": float | None,
    "latency_table": PathText | None, "latency_clock": str | None, "mbconv": dict | None,
    # the multi-seed protocol (dnas.cli.seeds_cmd)
    "seeds": str | list | None, "processes": int | None, "score_epochs": int,
}
#: the command-level options of ``dnas retrain`` (the rest are RetrainConfig fields)
RETRAIN_TYPES: dict[str, Any] = {
    "arch": str | None, "data": str | None, "data_root": PathText | None,
    "cache_dir": PathText | None, "dim": int | None, "channels": int | None,
    "layers": int | None, "auxiliary": bool, "n_train": int | None, "out": PathText | None,
    "threads": int | None,
}
#: options of a user's own data (dnas.cli.own_data), on both commands
DATA_TYPES: dict[str, Any] = {
    "label_column": str | None, "ignore_columns": str | list | None, "layout": str,
    "image_size": int | str | None, "test_size": float, "split_seed": int,
    "max_data_gb": float, "tensorboard": PathText | bool | None,
}

_INT = re.compile(r"[+-]?\d+")
_TRUE, _FALSE, _NONE = ("true", "yes", "on"), ("false", "no", "off"), ("none", "null", "~")
#: how deep a mapping option (method_options, ...) may nest, and how long a list may be
_MAX_DEPTH, _MAX_ITEMS = 4, 10_000


def describe(tp: Any) -> str:
    """What a type allows, in words (``"an integer or None"``)."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        parts = [describe(a) for a in typing.get_args(tp) if a is not type(None)]
        if type(None) in typing.get_args(tp):
            parts.append("None")
        return " or ".join(parts)
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"a list of {len(typing.get_args(tp))} numbers"
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return "a mapping of name: value"
    if tp is list or origin is list:
        return "a list"
    return {int: "an integer", float: "a number", bool: "True or False", str: "text",
            PathText: "a path (text)"}.get(tp, getattr(tp, "__name__", str(tp)))


def _fail(name: str, value: Any, tp: Any) -> typing.NoReturn:
    raise ParameterError(f"{name}={value!r} must be {describe(tp)}")


def _plain(name: str, value: Any, depth: int = 0) -> Any:
    """A JSON-like value (numbers, text, booleans, None, lists, mappings) of bounded size."""
    if depth > _MAX_DEPTH:
        raise ParameterError(f"{name} is nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise ParameterError(f"{name} holds {value!r}; numbers must be finite")
        return value
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS:
            raise ParameterError(f"{name} holds a list of {len(value)} items; at most "
                                 f"{_MAX_ITEMS}")
        return [_plain(name, v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        if len(value) > _MAX_ITEMS:
            raise ParameterError(f"{name} holds {len(value)} entries; at most {_MAX_ITEMS}")
        return {str(k): _plain(f"{name}.{k}", v, depth + 1) for k, v in value.items()}
    raise ParameterError(f"{name} holds a {type(value).__name__}, which is not a plain value")


def coerce(name: str, value: Any, tp: Any) -> Any:
    """``value`` as option ``name`` of type ``tp`` (see the module docstring)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
            if type(None) in args:
                return None
            _fail(name, value, tp)
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # "X or None": X's own message, with "or None" where it is generic
            try:
                return coerce(name, value, options[0])
            except ParameterError as err:
                if str(err) == f"{name}={value!r} must be {describe(options[0])}":
                    _fail(name, value, tp)
                raise
        for option in options:  # the first type that takes the value (order: as annotated)
            try:
                return coerce(name, value, option)
            except ParameterError:
                continue
        _fail(name, value, tp)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        _fail(name, value, tp)
    if tp is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and _INT.fullmatch(value.strip()):
            return int(value.strip())
        _fail(name, value, tp)
    if tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value) if not isinstance(value, numbers.Integral) else value
        if isinstance(value, str):
            try:
                number = float(value.strip())  # "inf"/"nan" too: the range check names them
            except ValueError:
                _fail(name, value, tp)
            if number == 0 and re.search(r"[1-9]", re.split(r"[eE]", value)[0]):
                raise ParameterError(f"{name}={value!r} is too small for a float: it would "
                                     "read as 0")
            return number
        _fail(name, value, tp)
    if tp is PathText:
        if isinstance(value, str) and value.strip() and "\0" not in value:
            return value
        _fail(name, value, tp)
    if tp is str:
        if isinstance(value, str):
            return value
        _fail(name, value, tp)
    if origin is tuple:
        if isinstance(value, (list, tuple)) and len(value) == len(args):
            return tuple(coerce(name, v, a) for v, a in zip(value, args))
        _fail(name, value, tp)
    if tp is list or origin is list:
        if isinstance(value, (list, tuple)):
            return _plain(name, list(value))
        _fail(name, value, tp)
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if isinstance(value, Mapping):
            return _plain(name, value)
        _fail(name, value, tp)
    return value


def field_types(cls: type) -> dict[str, Any]:
    """``{field: type}`` of a config dataclass, from its annotations."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def coerce_all(values: Mapping[str, Any], types_: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of ``values`` coerced to its option's type (names without one pass as they
    are: unknown names are refused elsewhere, with the list of valid ones)."""
    return {k: coerce(k, v, types_[k]) if k in types_ else v for k, v in values.items()}


__all__ = [
    "DATA_TYPES",
    "RETRAIN_TYPES",
    "SEARCH_TYPES",
    "PathText",
    "coerce",
    "coerce_all",
    "describe",
    "field_types",
]
