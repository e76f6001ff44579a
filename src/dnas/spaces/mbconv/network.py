"""The MBConv search network (MobileNetV2 / ProxylessNAS-style) and the network retrained from it.

    stem:    conv 3 (stride 1) -> BN -> ReLU6, ``stem`` channels
    stage s: Repeat(depth ∈ depths_s) of inverted residual blocks (MobileNetV2, table 1):
             block 1: width_{s-1} -> width_s, stride_s;  blocks b > 1: width_s -> width_s, residual,
             each block's depthwise kernel ∈ kernel_sizes and expansion ratio ∈ expansions, and
             blocks b > 1 a choice between the block and skipping it (ProxylessNAS' zero op)
    head:    global average pool -> linear to ``num_classes``

Every size is a :class:`~dnas.ValueChoice` shared by the layers it sizes, so the widths of a
stage, its depth and every block's kernel and expansion are searched with weights shared across
values, by any relaxation, optionally under a cost budget (:mod:`dnas.cost`). The same code
builds 1-D (sequences) and 2-D (images) networks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

import dnas.nn as dnn
from dnas.arch.architecture import Architecture
from dnas.arch.derivation import fix
from dnas.runtime.checks import check_int
from dnas.space.modules import LayerChoice
from dnas.space.repeat import Repeat
from dnas.space.value import Size, ValueChoice
from dnas.spaces.mbconv.structure import (
    SpaceSpec,
    StageSpec,
    block_label,
    depth_label,
    width_label,
)

_POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}


def _block(spec: SpaceSpec, s: int, b: int, c_in: Size, c_out: Size, stride: int) -> nn.Module:
    kernel = ValueChoice(list(spec.kernel_sizes), label=block_label(s, b, "kernel"))
    expansion = ValueChoice(list(spec.expansions), label=block_label(s, b, "expansion"))
    block = dnn.InvertedResidual(c_in, c_out, kernel, expansion, stride, dim=spec.dim)
    if b == 1 or not spec.skip:
        return block
    return LayerChoice({"mbconv": block, "skip": nn.Identity()}, label=block_label(s, b, "op"))


class MBConvNetwork(nn.Module):
    """Stem, searchable stages, classifier; ``spec`` says which space it is.

    Parameters
    ----------
    spec : SpaceSpec
    """

    def __init__(self, spec: SpaceSpec) -> None:
        super().__init__()
        self.spec = spec
        conv = dnn.Conv1d if spec.dim == 1 else dnn.Conv2d
        norm = dnn.BatchNorm1d if spec.dim == 1 else dnn.BatchNorm2d
        self.stem = nn.Sequential(conv(spec.in_channels, spec.stem, 3, bias=False),
                                  norm(spec.stem), nn.ReLU6())
        c_prev: Size = spec.stem
        stages = []
        for s, st in enumerate(spec.stages, start=1):
            width: Size = (ValueChoice(list(st.widths), label=width_label(s))
                           if len(st.widths) > 1 else st.widths[0])

            def make(i: int, s: int = s, st: StageSpec = st, c_in: Size = c_prev,
                     width: Size = width) -> nn.Module:
                first = i == 0
                return _block(spec, s, i + 1, c_in if first else width, width,
                              st.stride if first else 1)

            depth = (ValueChoice(list(st.depths), label=depth_label(s)) if len(st.depths) > 1
                     else st.depths[0])
            stages.append(Repeat(make, depth=depth))
            c_prev = width
        self.stages = nn.Sequential(*stages)
        self.pool = _POOL[spec.dim](1)
        self.classifier = dnn.Linear(c_prev, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.stages(self.stem(x)))
        return self.classifier(h.flatten(1))


def _spec(spec: SpaceSpec | Mapping[str, Any] | None, **overrides: Any) -> SpaceSpec:
    base = (spec.to_dict() if isinstance(spec, SpaceSpec) else dict(spec or {}))
    base.update({k: v for k, v in overrides.items() if v is not None})
    return SpaceSpec.from_dict(base)


def search_network(
    num_classes: int = 10,
    in_channels: int = 1,
    dim: int = 1,
    *,
    stages: Sequence[StageSpec | Mapping[str, Any]] | None = None,
    stem: int | None = None,
    kernel_sizes: Sequence[int] | None = None,
    expansions: Sequence[int] | None = None,
    skip: bool | None = None,
) -> MBConvNetwork:
    """The MBConv search network.

    Parameters
    ----------
    num_classes, in_channels : int
    dim : {1, 2}
        1 for sequences (``(N, C, L)``), 2 for images.
    stages : sequence of StageSpec or dict, optional
        Width candidates, depth candidates and stride per stage (default
        :data:`~dnas.spaces.mbconv.structure.DEFAULT_STAGES`: three stages, widths 16-32, 32-64,
        64-128, depths 1-3, stride 2).
    stem : int, optional
        Stem channels (16).
    kernel_sizes, expansions : sequence of int, optional
        Per-block candidates ((3, 5, 7) and (3, 6)).
    skip : bool, optional
        Whether blocks after a stage's first may be skipped (True).

    Examples
    --------
    >>> net = search_network(num_classes=10, in_channels=1, dim=1)
    >>> result = dnas.search(net, train, valid, cost="params", budget=200_000)  # doctest: +SKIP
    >>> model = eval_network(result.architecture)                             # doctest: +SKIP
    """
    if stages is not None and (isinstance(stages, (str, bytes))
                               or not isinstance(stages, Sequence)):
        raise ValueError(f"stages={stages!r} must be a list of StageSpec or dicts")
    spec = _spec(None, num_classes=num_classes, in_channels=in_channels, dim=dim,
                 stages=[s if not isinstance(s, StageSpec) else
                         {"widths": s.widths, "depths": s.depths, "stride": s.stride}
                         for s in stages] if stages is not None else None,
                 stem=stem, kernel_sizes=kernel_sizes, expansions=expansions, skip=skip)
    return MBConvNetwork(spec)


def space_of(architecture: Architecture) -> SpaceSpec:
    """The space an exported architecture was searched in (``meta["mbconv"]``), else the default."""
    data = architecture.meta.get("mbconv")
    return SpaceSpec.from_dict(data) if isinstance(data, Mapping) else SpaceSpec()


def eval_network(
    architecture: Architecture,
    *,
    seed: int | None = 0,
    **space: Any,
) -> nn.Module:
    """The plain network of ``architecture``: exactly the chosen widths, depths, kernels and
    expansions, freshly initialised.

    Parameters
    ----------
    architecture : Architecture
        Chosen values per label (from a search, :func:`random_architecture`, or JSON).
    seed : int or None, default 0
        Seeds the initial weights (torch's default initialisation of each layer at its chosen
        size; they depend only on the architecture and the seed). ``None``: the global RNG.
    **space
        The space's options (as :func:`search_network`); default: those recorded in
        ``architecture.meta["mbconv"]`` by :func:`architecture_meta`, else the default space.

    Returns
    -------
    nn.Module
        Built by :func:`dnas.fix` from the search network; no value choices, no α.
    """
    if not isinstance(architecture, Architecture):
        raise TypeError(
            f"architecture must be a dnas.Architecture, got {type(architecture).__name__}"
        )
    check_int("seed", seed, none_ok=True)
    spec = _spec(space_of(architecture), **space)
    model = fix(MBConvNetwork(spec), architecture)
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    with torch.random.fork_rng(devices=[]):
        if gen is not None:
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
        for m in model.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset) and m is not model:
                reset()
    return model


def architecture_meta(network: MBConvNetwork) -> dict[str, Any]:
    """What an exported architecture records about its space (``meta`` entries)."""
    return {"space": "mbconv", "mbconv": network.spec.to_dict()}


__all__ = ["MBConvNetwork", "architecture_meta", "eval_network", "search_network", "space_of"]
