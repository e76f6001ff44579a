"""PC-DARTS: partial channel connections (Xu et al., 2020, section 3.2, eqs. 2-3).

For a choice with input x of C channels and K = ``partial_channels``:

    x = [x_a, x_b],   x_a = x[:, :C/K],  x_b = x[:, C/K:]
    f(x) = shuffle_K( concat( Σ_o softmax(α)_o · o(x_a),  pool(x_b) ) )

Only x_a (1/K of the channels) goes through the mixed operation — the candidate ops are built
with C/K channels (``dnas.spaces.darts.search_network(partial_channels=K)``); x_b bypasses it,
max-pooled to the mixed output's spatial size at reduction edges (the paper's 2×2 max-pool for
even sizes), and ``shuffle_K`` is the channel shuffle with K groups (ShuffleNet), so that other
channels are sampled at the next layer. α gets the DARTS gradient through the softmax.

Edge normalisation (eq. 4, one β per incoming edge of a node) is an InputChoice in the space; this
relaxation mixes InputChoices with softmax weights, as DARTS does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from dnas.relaxations.base import Relaxation
from dnas.relaxations.mixture import mixed_output
from dnas.relaxations.registry import register

if TYPE_CHECKING:
    from dnas.space.modules import LayerChoice

_POOL = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet channel shuffle: (B, g·c, ...) -> view (B, g, c, ...) -> swap -> (B, c·g, ...)."""
    b, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: {c} channels do not split into groups={groups}")
    rest = x.shape[2:]
    return x.reshape(b, groups, c // groups, *rest).transpose(1, 2).reshape(b, c, *rest)


@register("pc-darts")
class PartialChannels(Relaxation):
    """Softmax mixture over 1/K of the channels; the rest bypass; channel shuffle.

    Parameters
    ----------
    partial_channels : int, default 4
        K: the mixed operation sees ``C // K`` channels (4 on CIFAR-10 in the paper). ``1``
        is plain DARTS (without the bypass).
    """

    def __init__(self, partial_channels: int = 4) -> None:
        if (isinstance(partial_channels, bool) or not isinstance(partial_channels, int)
                or partial_channels < 1):
            raise ValueError(
                f"pc-darts: partial_channels={partial_channels!r} must be an integer >= 1"
            )
        self.partial_channels = partial_channels

    def mix(
        self, choice: LayerChoice, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> torch.Tensor:
        k = self.partial_channels
        if not args or not isinstance(args[0], torch.Tensor) or args[0].dim() < 3:
            raise ValueError(
                f"pc-darts: choice {choice.label!r} needs a (batch, channels, ...) tensor as its "
                "first input"
            )
        x, rest = args[0], args[1:]
        c = x.shape[1]
        if c % k:
            raise ValueError(
                f"pc-darts: {c} input channels of choice {choice.label!r} are not divisible by "
                f"partial_channels={k}"
            )
        x_a, x_b = x[:, : c // k], x[:, c // k :]
        ops = list(choice.candidates.values())
        mixed = mixed_output(choice.arch.weights(), ops, (x_a, *rest), kwargs)
        if k == 1:
            return mixed
        if x_b.shape[2:] != mixed.shape[2:]:
            pool = _POOL.get(x_b.dim() - 2)
            if pool is None:
                raise ValueError(
                    f"pc-darts: inputs with {x_b.dim() - 2} spatial dims are not supported"
                )
            x_b = pool(x_b, mixed.shape[2:])
        return channel_shuffle(torch.cat([mixed, x_b], dim=1), k)
