"""The network retrained from a DARTS cell (Liu et al., 2019, section 3.2; the NetworkCIFAR of the
paper's code), for ``dim=2`` images and ``dim=1`` sequences.

The stem and the reduction schedule are those of the search network; each cell runs only its
chosen edges with affine BatchNorm. In training, drop path (Larsson et al., 2017) zeroes the
output of every non-identity edge for a sample with probability ``drop_path_prob`` and rescales
the rest by ``1 / (1 - drop_path_prob)``. An auxiliary classifier (Szegedy et al., 2015) reads the
output of cell ``2 · layers // 3``; in training mode with ``auxiliary=True`` the network returns
``(logits, aux_logits)``.
"""

from __future__ import annotations

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.ops.cell_ops import FactorizedReduce, ReLUConvBN
from dnas.ops.layers import (
    avg_pool,
    batch_norm,
    check_dim,
    check_input,
    conv,
    global_avg_pool,
    stem,
)
from dnas.ops.registry import create_op
from dnas.spaces.darts.structure import CellSpec, is_reduction, parse_architecture, positive_int


def drop_path(
    x: torch.Tensor, drop_prob: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero whole samples of ``x`` with probability ``drop_prob``; rescale the kept ones."""
    keep = 1.0 - drop_prob
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep, generator=generator)
    return x * mask / keep


class EvalCell(nn.Module):
    """A discrete cell: the chosen operations of :class:`CellSpec` ``spec`` with affine BN.

    Parameters
    ----------
    spec : CellSpec
        Incoming ``(input, operation)`` pairs per node and the concatenated states.
    C_prev_prev, C_prev, C : int
        Channels of the two inputs and of every node.
    reduction, reduction_prev : bool
        Whether this cell, and the previous one, reduce.
    dim : {1, 2}
        Spatial dimensions.
    """

    def __init__(
        self,
        spec: CellSpec,
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
        dim: int,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.spec = spec
        self.multiplier = len(spec.concat)
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(C_prev_prev, C, dim=dim)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, dim=dim)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, dim=dim)
        self.edges = nn.ModuleDict()
        for k, incoming in enumerate(spec.nodes, start=2):
            for j, name in incoming:
                stride = 2 if reduction and j < 2 else 1
                self.edges[f"edge_{k}_{j}"] = create_op(name, C, stride, affine=True, dim=dim)

    def forward(
        self,
        s0: torch.Tensor,
        s1: torch.Tensor,
        drop_prob: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k, incoming in enumerate(self.spec.nodes, start=2):
            total = None
            for j, _ in incoming:
                op = self.edges[f"edge_{k}_{j}"]
                h = op(states[j])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob, generator)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self.spec.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """The auxiliary classifier of the DARTS CIFAR network (``dim=2``) and its 1-D analogue.

    ReLU → average pool 5 stride 3 → 1×1 conv to 128 → BN → ReLU → conv (kernel 2) to 768 → BN →
    ReLU → global average → linear. Built for an 8×8 map (CIFAR after two reductions), it needs
    every spatial size to be at least 8.
    """

    def __init__(self, C: int, num_classes: int, dim: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            avg_pool(dim, 5, stride=3, padding=0, count_include_pad=False),
            conv(dim, C, 128, 1, bias=False),
            batch_norm(dim, 128),
            nn.ReLU(inplace=True),
            conv(dim, 128, 768, 2, bias=False),
            batch_norm(dim, 768),
            nn.ReLU(inplace=True),
            global_avg_pool(dim),  # 1×1 already for an 8×8 input; lets longer inputs through
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[2:]) < 8:
            raise ValueError(
                f"the auxiliary head needs a feature map at least 8 wide, got spatial shape "
                f"{tuple(x.shape[2:])}; use a larger input or auxiliary=False"
            )
        return self.classifier(self.features(x).flatten(1))


class EvalNetwork(nn.Module):
    """The retraining network; build it with :func:`eval_network`.

    Attributes
    ----------
    drop_path_prob : float
        Drop-path probability used in training mode (set it per epoch).
    generator : torch.Generator or None
        Source of drop-path randomness (``None``: the global generator).
    """

    def __init__(
        self,
        cells: dict[str, CellSpec],
        C: int,
        layers: int,
        num_classes: int,
        auxiliary: bool,
        dim: int,
        in_channels: int,
        drop_path_prob: float,
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        self.layers, self.dim, self.in_channels = layers, dim, in_channels
        self.auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        self.generator: torch.Generator | None = None
        C_curr = stem_multiplier * C
        self.stem = stem(dim, in_channels, C_curr)
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        self.aux_position = 2 * layers // 3
        C_aux = C_prev
        for i in range(layers):
            reduction = is_reduction(i, layers)
            if reduction:
                C_curr *= 2
            spec = cells["reduce" if reduction else "normal"]
            cell = EvalCell(spec, C_prev_prev, C_prev, C_curr, reduction, reduction_prev, dim)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if i == self.aux_position:
                C_aux = C_prev
        self.auxiliary_head = AuxiliaryHead(C_aux, num_classes, dim) if auxiliary else None
        self.global_pooling = global_avg_pool(dim)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        check_input(x, self.dim, self.in_channels)
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob, self.generator)
            if i == self.aux_position and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return (logits, aux) if aux is not None else logits


def eval_network(
    architecture: Architecture,
    C: int = 36,
    layers: int = 20,
    num_classes: int = 10,
    auxiliary: bool = True,
    dim: int = 2,
    in_channels: int | None = None,
    drop_path_prob: float = 0.0,
    stem_multiplier: int = 3,
) -> EvalNetwork:
    """Build the network that retrains a DARTS cell architecture (default: the paper's CIFAR-10
    evaluation network, 20 cells of C=36 with an auxiliary head).

    Parameters
    ----------
    architecture : Architecture
        Cell architecture (from ``derive_architecture()``, :func:`genotype` or JSON); checked by
        :func:`~dnas.spaces.darts.validate_architecture`.
    C, layers, num_classes : int
        Initial channels, number of cells, classifier outputs.
    auxiliary : bool
        Add the auxiliary head after cell ``2 * layers // 3``.
    dim : {1, 2}
        1 for sequences, 2 for images.
    in_channels : int, optional
        Default 3 for ``dim=2``, 1 for ``dim=1``.
    drop_path_prob : float
        Initial drop-path probability (the attribute can be changed per epoch).
    stem_multiplier : int
        The stem has ``stem_multiplier * C`` channels.
    """
    cells = parse_architecture(architecture)
    positive_int("C", C)
    positive_int("layers", layers)
    positive_int("num_classes", num_classes)
    positive_int("stem_multiplier", stem_multiplier)
    dim = check_dim(dim)
    in_channels = (3 if dim == 2 else 1) if in_channels is None else in_channels
    positive_int("in_channels", in_channels)
    if not isinstance(auxiliary, bool):
        raise ValueError(f"auxiliary={auxiliary!r} must be True or False")
    if isinstance(drop_path_prob, bool) or not 0.0 <= drop_path_prob < 1.0:
        raise ValueError(f"drop_path_prob={drop_path_prob!r} must be a number in [0, 1)")
    for i in range(layers):
        cell = "reduce" if is_reduction(i, layers) else "normal"
        if cell not in cells:
            raise ValueError(
                f"layers={layers} needs a {cell!r} cell (cell {i}), but the architecture only "
                f"describes {sorted(cells)} cells"
            )
    return EvalNetwork(
        cells, C, layers, num_classes, auxiliary, dim, in_channels, float(drop_path_prob),
        stem_multiplier,
    )


__all__ = ["AuxiliaryHead", "EvalCell", "EvalNetwork", "drop_path", "eval_network"]
