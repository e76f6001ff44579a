"""Resolving a command's options, one layer over the next:

    built-in defaults  <  per-dataset defaults  <  the run folder's config.yaml (on --resume)
                       <  the --config YAML file  <  command-line flags

The result is a flat dict whose keys are the command's own options plus the fields of the config
dataclass it builds (:class:`dnas.SearchConfig` or :class:`dnas.train.RetrainConfig`); the resolved
dict is what a run folder's ``config.yaml`` holds.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from dnas.bilevel.config import SearchConfig
from dnas.cli import own_data, schema
from dnas.relaxations.registry import methods
from dnas.runtime.atomic import atomic_write
from dnas.runtime.checks import check_choice
from dnas.runtime.jsonio import read_bounded
from dnas.train.config import RetrainConfig

#: Command-level search options (not SearchConfig fields) and their defaults.
SEARCH_OPTIONS: dict[str, Any] = {
    "space": "darts", "dim": None, "data": "mnist1d", "data_root": None, "cache_dir": None,
    "channels": None, "layers": None, "n_train": None, "out": None, "checkpoint_every": 20,
    # float32: on an H100 the search iteration is bound by kernel launches, and bf16 casts made it
    # slower (benchmarks/results/cli.md); "auto" turns bf16 on for CUDA first-order search
    "amp": "off", "channels_last": False, "compile": False, "threads": None,
    # augmentation of both search halves on the device (DARTS: crop 4 + flip on CIFAR-10)
    "crop_padding": 0, "flip": False,
    # a user's own data: how it is read (dnas.cli.own_data), and --tensorboard
    **own_data.OPTIONS,
    # cost-aware search (dnas.cli.budget): one budget flag sets cost= and budget=
    "budget_params": None, "budget_flops": None, "budget_latency": None, "latency_table": None,
    "latency_clock": None,
    "mbconv": None,  # options of the mbconv space (stages, stem, kernel_sizes, expansions, skip)
    # multi-seed protocol (dnas search --seeds 0,1,2,3)
    "seeds": None, "processes": None, "score_epochs": 5,
}
#: SearchConfig fields whose defaults the command line changes (quick runs; auto device).
SEARCH_OVERRIDES: dict[str, Any] = {"batch_size": 64, "seed": 0}
#: Per-dataset search defaults: demo-sized on MNIST-1D (1-D cells), DARTS' own on CIFAR-10.
SEARCH_DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    # a few minutes on 2 cores: 5 epochs, so α gets a 10x learning rate to move in 155 steps
    "mnist1d": {"channels": 8, "layers": 4, "epochs": 5, "arch_lr": 3e-3},
    "digits": {"channels": 8, "layers": 4, "epochs": 10, "arch_lr": 3e-3},
    "cifar10": {"channels": 16, "layers": 8, "epochs": 50, "crop_padding": 4, "flip": True},
    "synthetic": {"channels": 16, "layers": 8, "epochs": 1, "crop_padding": 4, "flip": True},
    own_data.FILE: own_data.SEARCH_DEFAULTS,  # a user's data: sized for a first run on a CPU
}

#: Command-level retrain options (not RetrainConfig fields) and their defaults.
RETRAIN_OPTIONS: dict[str, Any] = {
    "arch": None, "data": None, "data_root": None, "cache_dir": None, "dim": None,
    "channels": None, "layers": None, "auxiliary": True, "n_train": None, "out": None,
    "threads": None, **own_data.OPTIONS,
}
#: Per-dataset retrain defaults: DARTS' recipe on CIFAR-10, scaled to the data elsewhere.
RETRAIN_DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "mnist1d": {"channels": 16, "layers": 8, "epochs": 30, "batch_size": 64, "cutout": 0,
                "crop_padding": 4, "flip": False},
    # 8x8 images are 2x2 after two reductions: too small for the auxiliary head
    "digits": {"channels": 16, "layers": 8, "epochs": 30, "batch_size": 64, "cutout": 0,
               "crop_padding": 1, "flip": False, "auxiliary": False},
    "cifar10": {"channels": 36, "layers": 20, "epochs": 600, "batch_size": 96, "cutout": 16,
                "crop_padding": 4, "flip": True},
    "synthetic": {"channels": 36, "layers": 20, "epochs": 1, "batch_size": 96, "cutout": 16,
                  "crop_padding": 4, "flip": True},
    own_data.FILE: own_data.RETRAIN_DEFAULTS,  # a user's data: no augmentation unless asked
}


#: the largest config file read (a config file is a few hundred bytes)
MAX_YAML_BYTES = 2**20


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no Python objects), refusing a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"option {key!r} is given twice", key_node.start_mark)
            seen.add(key if isinstance(key, (str, int, float, bool)) else id(key_node))
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML mapping from ``path``; ``ValueError`` naming the problem otherwise.

    Safe (no Python objects: ``!!python/...`` tags are refused), bounded (at most
    :data:`MAX_YAML_BYTES`; nesting that exhausts the parser is one error), and strict about keys
    given twice.
    """
    p = Path(path)
    raw = read_bounded(p, MAX_YAML_BYTES, "config file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"cannot read config file {str(p)!r}: {err}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        first = " ".join(str(problem if problem else err).split())
        raise ValueError(f"config file {str(p)!r} is not valid YAML: {first}{where}") from None
    except RecursionError:
        raise ValueError(f"config file {str(p)!r} is nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def write_yaml(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``data`` as YAML atomically (:func:`dnas.runtime.atomic.atomic_write`)."""
    atomic_write(path, yaml.safe_dump(_plain(dict(data)), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _check_known(layer: Mapping[str, Any], known: set[str], where: str) -> None:
    bad = sorted(set(layer) - known)
    if bad:
        raise ValueError(f"unknown option(s) {bad} in {where}; valid options: {sorted(known)}")


def resolve(
    command: str,
    flags: Mapping[str, Any],
    config_file: str | os.PathLike[str] | None = None,
    saved: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The resolved options of ``command`` ("search" or "retrain") as a flat dict.

    Parameters
    ----------
    flags : mapping
        Options given on the command line (only those given).
    config_file : path, optional
        The ``--config`` YAML file.
    saved : mapping, optional
        A run folder's resolved config (when resuming), below the YAML file and the flags.
    base : mapping, optional
        Defaults read from the inputs (e.g. the data an architecture was searched on), just above
        the built-in ones.
    """
    if command == "search":
        options, overrides, per_data = SEARCH_OPTIONS, SEARCH_OVERRIDES, SEARCH_DATA_DEFAULTS
        known = set(options) | _fields(SearchConfig)
    else:
        options, overrides, per_data = RETRAIN_OPTIONS, {}, RETRAIN_DATA_DEFAULTS
        known = set(options) | _fields(RetrainConfig)
    types = option_types(command)
    from_file = read_yaml(config_file) if config_file is not None else {}
    _check_known(from_file, known, f"config file {str(config_file)!r}")
    saved = dict(saved or {})
    _check_known(saved, known, "the run folder's config.yaml")
    # one typed schema for every layer: flags (text) and YAML values are read the same way
    layers = [schema.coerce_all(layer, types) for layer in (saved, from_file, flags)]
    for layer in layers:
        if layer.get("grad_clip") == 0:  # "0: off", as the flag's help says
            layer["grad_clip"] = None
    given = {k: v for layer in layers for k, v in layer.items()}
    resolved: dict[str, Any] = {**options, **overrides, **(base or {})}
    data = given.get("data", resolved.get("data"))
    if data is not None:
        resolved.update(per_data.get(own_data.defaults_key(data), {}))
    resolved.update(given)
    return resolved


def option_types(command: str) -> dict[str, Any]:
    """The type of every option of ``command`` ("search" or "retrain"): :mod:`dnas.cli.schema`."""
    if command == "search":
        return {**schema.field_types(SearchConfig), **schema.SEARCH_TYPES, **schema.DATA_TYPES}
    return {**schema.field_types(RetrainConfig), **schema.RETRAIN_TYPES, **schema.DATA_TYPES}


def search_config(resolved: Mapping[str, Any]) -> SearchConfig:
    """The :class:`SearchConfig` of a resolved search: DARTS defaults < method preset < options."""
    fields = _fields(SearchConfig)
    values = {k: v for k, v in resolved.items() if k in fields and v is not None}
    if "grad_clip" in resolved and resolved["grad_clip"] is None:
        values["grad_clip"] = None  # explicitly off
    method = values.pop("method", "darts")
    if isinstance(values.get("arch_betas"), list):
        values["arch_betas"] = tuple(values["arch_betas"])
    if "method_options" in values and not isinstance(values["method_options"], Mapping):
        raise ValueError(f"method_options={values['method_options']!r} must be a mapping")
    check_choice("method", method, methods())
    return SearchConfig.for_method(method, **values)


def retrain_config(resolved: Mapping[str, Any]) -> RetrainConfig:
    """The :class:`RetrainConfig` of a resolved retrain command."""
    fields = _fields(RetrainConfig)
    values = {k: v for k, v in resolved.items() if k in fields and v is not None}
    if "grad_clip" in resolved and resolved["grad_clip"] is None:
        values["grad_clip"] = None
    return RetrainConfig(**values)

