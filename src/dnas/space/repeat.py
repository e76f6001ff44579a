"""Searchable depth: a stack of blocks whose length is a value choice.

With allowed depths ``d_1 < ... < d_n`` and mixing weights ``w`` (the depth choice's relaxation),
the blocks run in sequence up to the largest depth and the output is the mixture of the outputs
after each allowed depth (FBNetV2's depth search, Wan et al., 2020, section 3.3):

    h_0 = x,  h_i = block_i(h_{i-1}),    ō(x) = Σ_j w_j · h_{d_j}

so at one-hot weights it is exactly the stack of the chosen depth. :func:`dnas.fix` builds
``nn.Sequential`` of exactly the chosen number of blocks (the others are dropped).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from dnas.space.searchable import Searchable
from dnas.space.value import ValueChoice


class Repeat(Searchable):
    """``depth`` blocks in sequence, the depth searchable.

    Parameters
    ----------
    blocks : callable or sequence of nn.Module
        ``blocks(i) -> nn.Module`` builds block ``i`` (0-based; called for every ``i`` below the
        largest depth), or the blocks themselves.
    depth : int, sequence of int or ValueChoice
        The allowed depths (integers >= 0); a list becomes ``ValueChoice(depth, label=label)``.
        When a choice, every block must keep the shape of its input (the outputs are mixed).
    label : str, optional
        Label of the depth choice built from a list.

    Examples
    --------
    >>> stage = Repeat(lambda i: dnas.nn.InvertedResidual(w, w, 3, 6), depth=ValueChoice([1, 2, 3],
    ...                label="depth"))                                    # doctest: +SKIP
    """

    def __init__(
        self,
        blocks: Callable[[int], nn.Module] | Sequence[nn.Module],
        depth: int | Sequence[int] | ValueChoice,
        *,
        label: str | None = None,
    ) -> None:
        super().__init__()
        chosen: int | ValueChoice
        if isinstance(depth, ValueChoice):
            chosen = depth
        elif isinstance(depth, numbers.Integral) and not isinstance(depth, bool):
            chosen = int(depth)
        elif isinstance(depth, Sequence) and not isinstance(depth, (str, bytes)):
            chosen = ValueChoice(list(depth), label=label)
        else:
            raise TypeError(
                f"depth must be an int, a list of ints or a ValueChoice, got {depth!r}"
            )
        if label is not None and not isinstance(depth, Sequence):
            raise ValueError(
                f"label={label!r} names a depth choice built from a list, but depth={depth!r} "
                "is fixed or already a choice"
            )
        values = chosen.values if isinstance(chosen, ValueChoice) else (chosen,)
        shown = chosen.label if isinstance(chosen, ValueChoice) else repr(depth)
        for d in values:
            if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                raise ValueError(f"depth={shown} can take the value {d!r}; depths are integers "
                                 ">= 0")
        self.register_sizes(depth=chosen)
        largest = int(max(values))
        if callable(blocks) and not isinstance(blocks, nn.Module):
            made = [blocks(i) for i in range(largest)]
        elif isinstance(blocks, Sequence):
            made = list(blocks)
            if len(made) < largest:
                raise ValueError(f"{len(made)} blocks given, but the depth can be {largest}")
        else:
            raise TypeError(
                f"blocks must be a callable building block i, or a list of modules, got "
                f"{type(blocks).__name__}"
            )
        for i, b in enumerate(made):
            if not isinstance(b, nn.Module):
                raise TypeError(f"block {i} is a {type(b).__name__}, expected an nn.Module")
        self.blocks = nn.ModuleList(made[:largest])

    @property
    def depth(self) -> int | ValueChoice:
        """The depth: a number or the depth choice."""
        return self.sizes["depth"]  # type: ignore[return-value]

    @property
    def depths(self) -> tuple[int, ...]:
        """The allowed depths."""
        d = self.depth
        return tuple(int(v) for v in d.values) if isinstance(d, ValueChoice) else (int(d),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(self.depth, ValueChoice):
            for block in self.blocks:
                x = block(x)
            return x
        wanted = set(self.depths)
        outs: dict[int, torch.Tensor] = {0: x} if 0 in wanted else {}
        for i, block in enumerate(self.blocks, start=1):
            x = block(x)
            if i in wanted:
                outs[i] = x
        shapes = {tuple(o.shape) for o in outs.values()}
        if len(shapes) > 1:
            raise ValueError(
                f"Repeat {self.depth.label!r}: the outputs after depths {sorted(outs)} have "
                f"different shapes {sorted(shapes)}; a searchable depth needs blocks that keep "
                "the shape"
            )
        w = self.depth.weights().unbind(0)
        return sum(wj * outs[d] for wj, d in zip(w, self.depths))  # type: ignore[return-value]

    def fixed(self, architecture: Mapping[str, Sequence[Any]]) -> nn.Module:
        d = self.chosen_sizes(architecture)["depth"]
        return nn.Sequential(*list(self.blocks)[:d])

    def extra_repr(self) -> str:
        d = self.depth
        return f"depth={d.label!r}: {list(d.values)}" if isinstance(d, ValueChoice) else f"{d}"


__all__ = ["Repeat"]
