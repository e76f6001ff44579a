"""Batch augmentation on the batch's own device: random crop with zero padding, flip, cutout.

The DARTS training recipe for CIFAR-10 (Liu et al., 2019, appendix A.2): pad 4, random 32x32 crop,
random horizontal flip, and for the final training cutout of length 16 (DeVries & Taylor, 2017:
one square, centred uniformly in the image and clipped at its border, set to zero). Here every
step is one vectorised tensor expression over the whole batch, so it runs on the GPU next to the
model instead of in a per-image CPU loop. Padding and cutout write zeros into the tensor as given;
on normalised images zero is the mean colour (DARTS pads before normalising, i.e. with black).
For sequences (``dim=1``) the crop is a random shift by up to ``crop_padding`` and cutout blanks
one segment; there is no flip, since reversing a signal changes its class.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dnas.runtime.checks import check_bool, check_choice, check_int


def _draw_int(
    high: int, n: int, x: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """``n`` integers uniform in [0, high), drawn on the generator's device, returned on x's."""
    device = x.device if generator is None else generator.device
    return torch.randint(0, high, (n,), generator=generator, device=device).to(x.device)


def _draw_coin(n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    device = x.device if generator is None else generator.device
    return (torch.rand((n,), generator=generator, device=device) < 0.5).to(x.device)


class Augment(nn.Module):
    """Random crop (zero padding), horizontal flip and cutout, applied per sample, batch at once.

    Parameters
    ----------
    crop_padding : int
        Zero padding on each side before a random crop back to the input size; 0 disables.
    flip : bool, optional
        Flip left-right with probability 1/2 (images only). Default: True for ``dim=2``, False
        for ``dim=1``.
    cutout : int
        Side of the zeroed square (``dim=2``) or length of the zeroed segment (``dim=1``);
        0 disables.
    dim : int
        Spatial dimensions of the inputs: 2 for ``(B, C, H, W)``, 1 for ``(B, C, L)``.

    Call as ``augment(x, generator=None)``; the randomness comes from ``generator`` when given (it
    may live on another device than ``x``), else from torch's default generator of ``x``'s device.
    Works on any dtype; the output has ``x``'s shape, dtype and device. Call it on training batches
    only: it augments regardless of ``train()``/``eval()``.
    """

    def __init__(
        self, crop_padding: int = 4, flip: bool | None = None, cutout: int = 0, dim: int = 2
    ) -> None:
        super().__init__()
        check_choice("dim", dim, (1, 2))
        check_int("crop_padding", crop_padding, 0)
        check_int("cutout", cutout, 0)
        if flip is None:
            flip = dim == 2
        flip = check_bool("flip", flip)
        if flip and dim == 1:
            raise ValueError("flip=True is for images (dim=2); reversing a sequence changes it")
        self.crop_padding, self.flip, self.cutout, self.dim = crop_padding, flip, cutout, dim

    def extra_repr(self) -> str:
        return (
            f"crop_padding={self.crop_padding}, flip={self.flip}, cutout={self.cutout}, "
            f"dim={self.dim}"
        )

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != self.dim + 2:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            layout = "(B, C, H, W)" if self.dim == 2 else "(B, C, L)"
            raise ValueError(f"Augment(dim={self.dim}) expects a {layout} tensor, got {shape}")
        self.check_size(x.shape[2:])
        if self.crop_padding:
            x = self._crop(x, generator)
        if self.flip:
            flipped = _draw_coin(x.shape[0], x, generator)
            x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(-1), x)
        if self.cutout:
            x = self._cutout(x, generator)
        return x

    def check_size(self, spatial: Sequence[int]) -> None:
        """Refuse a cutout longer than the inputs' side (it would blank whole inputs) or a crop
        padding as long as it (a window could hold padding only)."""
        side = min(spatial) if len(spatial) else 0
        what = "image side" if self.dim == 2 else "sequence length"
        if self.cutout > side:
            raise ValueError(f"cutout={self.cutout} must be at most the {what} {side}: a longer "
                             "cutout blanks whole inputs")
        if self.crop_padding >= side > 0:
            raise ValueError(f"crop_padding={self.crop_padding} must be less than the {what} "
                             f"{side}: a shift that long can leave nothing but padding")

    def _crop(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Pad by p with zeros, then gather a window at a random offset in [0, 2p] per sample."""
        p, b = self.crop_padding, x.shape[0]
        padded = F.pad(x, (p, p) * self.dim)
        spatial, padded_spatial = x.shape[2:], padded.shape[2:]
        offsets = [_draw_int(2 * p + 1, b, x, generator) for _ in spatial]
        # one flat index per output pixel into the padded plane: a single gather over all axes
        # (two gathers, one per axis, were several times slower on CPU)
        index = torch.zeros((b,) + (1,) * len(spatial), dtype=torch.long, device=x.device)
        stride = 1
        for axis in reversed(range(len(spatial))):
            coord = offsets[axis].view(-1, 1) + torch.arange(spatial[axis], device=x.device)
            view = [b] + [1] * len(spatial)
            view[axis + 1] = spatial[axis]
            index = index + coord.view(view) * stride
            stride *= padded_spatial[axis]
        index = index.reshape(b, 1, -1).expand(b, x.shape[1], -1)
        return padded.flatten(2).gather(2, index).view(x.shape)

    def _cutout(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Zero a cutout-long window per spatial axis around a uniformly drawn centre."""
        length, b = self.cutout, x.shape[0]
        spatial = x.shape[2:]
        centres = [_draw_int(size, b, x, generator) for size in spatial]
        mask = torch.ones((b, *spatial), dtype=torch.bool, device=x.device)
        for axis, (size, centre) in enumerate(zip(spatial, centres, strict=True), start=1):
            pos = torch.arange(size, device=x.device)
            lo = (centre - length // 2).view(-1, 1)
            inside = (pos >= lo) & (pos < lo + length)  # (B, size); clipped by the range of pos
            view = [b] + [1] * len(spatial)
            view[axis] = size
            mask = mask & inside.view(view)
        return x.masked_fill(mask.unsqueeze(1), 0)
