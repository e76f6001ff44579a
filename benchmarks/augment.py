"""Batch augmentation cost: dnas.data.Augment (one vectorised pass) against a per-image loop.

The per-image loop is the DARTS/torchvision way (each image cropped, flipped and cut out on its
own); ``Augment`` does the whole batch in a few tensor ops on the batch's device. Both apply
pad-4 random crop, horizontal flip and cutout 16 to CIFAR-shaped float32 batches.

    PYTHONPATH=src python benchmarks/augment.py [--device cpu|cuda] [--batch 96] [--repeats 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from dnas.data import Augment


def per_image(x: torch.Tensor, g: torch.Generator, pad: int = 4, cutout: int = 16) -> torch.Tensor:
    """Reference: the same three steps, one image at a time (what a Dataset transform does)."""
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(x.shape[0]):
        img = F.pad(x[i], (pad, pad, pad, pad))
        dy, dx = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=g))
        img = img[:, dy : dy + h, dx : dx + w]
        if torch.rand((), generator=g) < 0.5:
            img = img.flip(-1)
        cy, cx = (int(v) for v in torch.randint(0, h, (2,), generator=g))
        img = img.clone()
        img[
            :,
            max(cy - cutout // 2, 0) : cy + cutout // 2,
            max(cx - cutout // 2, 0) : cx + cutout // 2,
        ] = 0
        out[i] = img
    return out


def timed(fn, device: torch.device, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    device = torch.device(args.device)
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    aug = Augment(crop_padding=4, flip=True, cutout=16)
    g = torch.Generator(device=device).manual_seed(0)
    t_vec = timed(lambda: aug(x, generator=g), device, args.repeats)
    g_cpu = torch.Generator().manual_seed(0)  # the loop draws Python-side scalars, as transforms do
    t_loop = timed(lambda: per_image(x, g_cpu), device, max(5, args.repeats // 5))
    print(
        f"device={device} batch={args.batch} threads={torch.get_num_threads()} "
        f"torch={torch.__version__}"
    )
    print(f"Augment (vectorised): {t_vec * 1e3:.3f} ms/batch")
    print(f"per-image loop:       {t_loop * 1e3:.3f} ms/batch")
    print(f"ratio loop/vectorised: {t_loop / t_vec:.1f}x")


if __name__ == "__main__":
    main()
