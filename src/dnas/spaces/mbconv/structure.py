"""The MBConv space's description: stages, the label scheme, defaults, validation.

A network is a stem convolution, stages of inverted residual blocks and a classifier. Stage ``s``
(1-based) has a width choice ``stage<s>/width``, a depth choice ``stage<s>/depth`` and, per block
``b``, a kernel size ``stage<s>/block<b>/kernel`` and an expansion ratio
``stage<s>/block<b>/expansion``; blocks after the first may be skipped
(``stage<s>/block<b>/op`` in {"mbconv", "skip"}), as ProxylessNAS' zero operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dnas.runtime.checks import check_bool, check_int


def _ints(name: str, values: Sequence[int], low: int, odd: bool = False) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name}={values!r} must be a non-empty list of integers")
    for v in values:
        check_int(name, v, low)
        if odd and v % 2 == 0:
            raise ValueError(f"{name}={list(values)!r}: kernel sizes must be odd, got {v}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name}={list(values)!r} repeats a value")
    return tuple(sorted(int(v) for v in values))


@dataclass(frozen=True)
class StageSpec:
    """One stage: its width and depth candidates and the stride of its first block.

    Attributes
    ----------
    widths : tuple of int
        Output channel candidates.
    depths : tuple of int
        Block-count candidates (each >= 1).
    stride : int
        Stride of the stage's first block.
    """

    widths: tuple[int, ...]
    depths: tuple[int, ...] = (1, 2, 3)
    stride: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", _ints("widths", self.widths, 1))
        object.__setattr__(self, "depths", _ints("depths", self.depths, 1))
        object.__setattr__(self, "stride", int(check_int("stride", self.stride, 1)))


#: Default stages: MobileNetV2-like widths at a size that trains on a few CPU cores.
DEFAULT_STAGES = (
    StageSpec(widths=(16, 24, 32), depths=(1, 2, 3), stride=2),
    StageSpec(widths=(32, 48, 64), depths=(1, 2, 3), stride=2),
    StageSpec(widths=(64, 96, 128), depths=(1, 2, 3), stride=2),
)


@dataclass(frozen=True)
class SpaceSpec:
    """Everything that fixes the space (stored in an exported architecture's ``meta``).

    Attributes
    ----------
    stages : tuple of StageSpec
    stem : int
        Channels of the stem convolution (3 wide, stride 1).
    kernel_sizes, expansions : tuple of int
        Per-block candidates.
    skip : bool
        Whether blocks after a stage's first may be skipped.
    dim : {1, 2}
    in_channels, num_classes : int
    """

    stages: tuple[StageSpec, ...] = field(default_factory=lambda: DEFAULT_STAGES)
    stem: int = 16
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    expansions: tuple[int, ...] = (3, 6)
    skip: bool = True
    dim: int = 1
    in_channels: int = 1
    num_classes: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.stages, (str, bytes)) or not isinstance(self.stages, Sequence):
            raise ValueError(f"stages={self.stages!r} must be a list of stages")
        stages = tuple(_stage(s) for s in self.stages)
        if not stages:
            raise ValueError("stages is empty: the space needs at least one stage")
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "kernel_sizes", _ints("kernel_sizes", self.kernel_sizes, 1,
                                                       odd=True))
        object.__setattr__(self, "expansions", _ints("expansions", self.expansions, 1))
        check_bool("skip", self.skip)
        if check_int("dim", self.dim) not in (1, 2):
            raise ValueError(f"dim={self.dim!r} must be 1 (sequences) or 2 (images)")
        for name in ("stem", "dim", "in_channels", "num_classes"):  # NumPy integers as ints
            object.__setattr__(self, name, int(check_int(name, getattr(self, name), 1)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        d = asdict(self)
        d["stages"] = [asdict(s) for s in self.stages]
        return _lists(d)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceSpec:
        """The inverse of :meth:`to_dict` (unknown keys are an error)."""
        known = {"stages", "stem", "kernel_sizes", "expansions", "skip", "dim", "in_channels",
                 "num_classes"}
        bad = sorted(set(data) - known)
        if bad:
            raise ValueError(f"unknown mbconv space option(s) {bad}; valid: {sorted(known)}")
        d = dict(data)
        if isinstance(d.get("stages"), list):
            d["stages"] = tuple(d["stages"])
        for k in ("kernel_sizes", "expansions"):
            if isinstance(d.get(k), list):
                d[k] = tuple(d[k])
        return cls(**d)


def _stage(s: Any) -> StageSpec:
    """A stage from a :class:`StageSpec` or a mapping of its fields (lists allowed)."""
    if isinstance(s, StageSpec):
        return s
    if not isinstance(s, Mapping):
        raise ValueError(f"stage {s!r} must be a StageSpec or a mapping with 'widths', 'depths' "
                         "and 'stride'")
    bad = sorted(map(str, set(s) - {"widths", "depths", "stride"}))
    if bad:
        raise ValueError(f"unknown stage option(s) {bad}; valid: ['depths', 'stride', 'widths']")
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in s.items()}
    return StageSpec(**fields)


def _lists(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _lists(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_lists(x) for x in v]
    return v


def width_label(stage: int) -> str:
    return f"stage{stage}/width"


def depth_label(stage: int) -> str:
    return f"stage{stage}/depth"


def block_label(stage: int, block: int, what: str) -> str:
    """``stage<s>/block<b>/<what>`` with ``what`` in kernel, expansion, op (1-based indices)."""
    return f"stage{stage}/block{block}/{what}"


__all__ = ["DEFAULT_STAGES", "SpaceSpec", "StageSpec", "block_label", "depth_label",
           "width_label"]
