"""The command line's cost-aware search: ``--space mbconv`` and ``--budget-params/-flops/-latency``.

    dnas search --space mbconv --budget-params 200000
    dnas search --space mbconv --budget-flops 2e6 --data digits
    dnas search --space mbconv --budget-latency 0.5 --latency-table lut.json   # milliseconds
    dnas search --space mbconv --budget-latency 0.5 --latency-clock process    # shared machine

A budget flag sets the search's ``cost`` and ``budget`` (latency in milliseconds on the command
line, seconds in the configuration); latency is measured on the search device, per batch of
``latency_batch_size``, in the look-up table ``--latency-table`` (default: the cache folder), by
wall-clock time or, with ``--latency-clock process``, the process's CPU time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from dnas.arch.architecture import Architecture
from dnas.bilevel.config import SearchConfig
from dnas.data.dataset import Dataset
from dnas.runtime.checks import check_float

#: Command-level budget options and the cost each one sets.
BUDGET_FLAGS = {"budget_params": "params", "budget_flops": "flops", "budget_latency": "latency"}


def apply_budget(resolved: dict[str, Any]) -> None:
    """Turn ``budget_params`` / ``budget_flops`` / ``budget_latency`` into ``cost`` and
    ``budget`` (in place); at most one of them, and not against a different ``cost``."""
    given = {k: resolved.get(k) for k in BUDGET_FLAGS if resolved.get(k) is not None}
    if len(given) > 1:
        raise ValueError(f"give one budget, got {', '.join(f'{k}={v}' for k, v in given.items())}")
    if given:
        (flag, value), = given.items()
        value = float(check_float(flag, value, 0, low_open=True))
        kind = BUDGET_FLAGS[flag]
        if resolved.get("cost") not in (None, kind):
            raise ValueError(f"{flag}={value} contradicts cost={resolved['cost']!r}")
        resolved["cost"] = kind
        resolved["budget"] = value / 1e3 if kind == "latency" else value
    for key in ("latency_table", "latency_clock"):
        if resolved.get(key) is not None:
            options = dict(resolved.get("cost_options") or {})
            options[key] = str(resolved[key])
            resolved["cost_options"] = options


def latency_on_device(config: SearchConfig) -> SearchConfig:
    """Time latency on the search device unless the options name another one."""
    if config.cost != "latency" or "latency_device" in config.cost_options:
        return config
    return config.replace(cost_options={**config.cost_options, "latency_device": config.device})


def mbconv_space(resolved: Mapping[str, Any], data: Dataset, config: SearchConfig) -> nn.Module:
    """The MBConv search network for the data (space options from the ``mbconv`` mapping)."""
    from dnas.spaces.mbconv import search_network

    options = resolved.get("mbconv") or {}
    if not isinstance(options, Mapping):
        raise ValueError(f"mbconv={options!r} must be a mapping of space options")
    options = {k: v for k, v in options.items()
               if k not in ("num_classes", "in_channels", "dim")}
    return search_network(num_classes=data.num_classes, in_channels=data.in_channels,
                          dim=resolved["dim"], **options)


def describe(arch: Architecture) -> list[str]:
    """Lines that show a found MBConv architecture and its cost."""
    lines = []
    stages = sorted({k.split("/")[0] for k in arch if k.startswith("stage")},
                    key=lambda s: int(s[5:]))
    for stage in stages:
        width = arch.get(f"{stage}/width", ("-",))[0]
        depth = int(arch.get(f"{stage}/depth", (1,))[0])
        blocks = []
        for b in range(1, depth + 1):
            if arch.get(f"{stage}/block{b}/op", ("mbconv",))[0] == "skip":
                blocks.append("skip")
                continue
            k = arch.get(f"{stage}/block{b}/kernel", ("?",))[0]
            e = arch.get(f"{stage}/block{b}/expansion", ("?",))[0]
            blocks.append(f"MB{e} k{k}")
        lines.append(f"  {stage}: width {width}, depth {depth}: {', '.join(blocks)}")
    cost = arch.meta.get("cost")
    if isinstance(cost, Mapping):
        value, budget = cost.get("value"), cost.get("budget")
        unit = {"params": "parameters", "flops": "FLOPs", "latency": "s"}.get(
            str(cost.get("kind")), "")
        lines.append(f"  cost: {value:,.6g} {unit} (budget {budget:,.6g}, argmax "
                     f"{cost.get('argmax'):,.6g}, expected {cost.get('expected'):,.6g})")
    return lines


__all__ = ["BUDGET_FLAGS", "apply_budget", "describe", "latency_on_device", "mbconv_space"]
