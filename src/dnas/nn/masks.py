"""Weight sharing across the values of a choice: channel masks and centred kernel masks.

For a size with candidate values ``v_1..v_n`` (every combination of its choices) and mixing
weights ``w`` (the product of the choices' relaxation weights), a layer allocated at the largest
value mixes its candidates without ever running them separately:

* width (FBNetV2, Wan et al., 2020, eq. 3): channel ``c`` is scaled by
  ``m_c = Σ_j w_j · 1[c < v_j]``, so ``y ⊙ m = Σ_j w_j · (y ⊙ 1[· < v_j])`` — the narrower layers
  are the first channels of the widest;
* kernel size (Single-Path NAS, Stamoulis et al., 2019, eq. 1): the convolution uses
  ``W ⊙ Σ_j w_j M_j`` where ``M_j`` is 1 on the centred ``v_j``-wide window, so by linearity the
  output is ``Σ_j w_j conv_{v_j}(x)`` with each small kernel the centre of the largest (with
  padding ``(K - 1)/2 · dilation`` every odd kernel gives the same output positions).

At one-hot weights the masked layer equals the layer of the chosen size on its channels and is
zero on the others, in value and in gradient.
"""

from __future__ import annotations

import torch

from dnas.space.searchable import Searchable
from dnas.space.value import Size, ValueChoice, combination_weights, combinations, is_choice


def channel_table(size: Size, n: int) -> tuple[list[ValueChoice], torch.Tensor]:
    """The choices of ``size`` and the 0/1 matrix ``[combination, channel] = channel < value``."""
    choices, values = combinations(size)
    index = torch.arange(n)
    table = (index.unsqueeze(0) < torch.tensor(values).unsqueeze(1)).float()
    return choices, table


def kernel_table(size: Size, largest: int, dim: int) -> tuple[list[ValueChoice], torch.Tensor]:
    """The choices of ``size`` and, per combination, the centred window of its kernel size
    inside a ``largest``-wide kernel (flattened over ``dim`` spatial dimensions)."""
    choices, values = combinations(size)
    rows = []
    for k in values:
        line = torch.zeros(largest)
        start = (largest - int(k)) // 2
        line[start : start + int(k)] = 1.0
        window = line
        for _ in range(dim - 1):
            window = window.unsqueeze(-1) * line
        rows.append(window.reshape(-1))
    return choices, torch.stack(rows)


class SizedLayer(Searchable):
    """A searchable layer that keeps one mask table per size that is a choice."""

    def add_table(self, name: str, choices: list[ValueChoice], table: torch.Tensor) -> None:
        """Register ``table`` as a (non-persistent) buffer ``<name>_table`` read by :meth:`mix`."""
        if not hasattr(self, "_table_choices"):
            self._table_choices: dict[str, list[ValueChoice]] = {}
        self._table_choices[name] = choices
        self.register_buffer(f"{name}_table", table, persistent=False)

    def mix(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """``Σ_j w_j · table[j]``: this step's mask for size ``name``, in ``like``'s dtype."""
        table: torch.Tensor = getattr(self, f"{name}_table")
        w = combination_weights(self._table_choices[name])
        return (w.to(table.dtype) @ table).to(like.dtype)

    def add_channel_table(self, name: str, size: Size, n: int) -> None:
        """A channel mask table for ``size`` over ``n`` channels (nothing when it is a number)."""
        if is_choice(size):
            self.add_table(name, *channel_table(size, n))

    def has_table(self, name: str) -> bool:
        return hasattr(self, "_table_choices") and name in self._table_choices


def mask_channels(x: torch.Tensor, mask: torch.Tensor, channel_dim: int = 1) -> torch.Tensor:
    """``x`` scaled by ``mask`` along ``channel_dim``."""
    shape = [1] * x.dim()
    shape[channel_dim] = mask.shape[0]
    return x * mask.view(shape)


__all__ = ["SizedLayer", "channel_table", "kernel_table", "mask_channels"]
