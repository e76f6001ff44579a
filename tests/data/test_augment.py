"""Augment: each output is an exact crop/flip/cutout of its input, reproducible from a generator."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dnas.data import Augment


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _distinct(shape: tuple[int, ...], dtype=torch.float32) -> torch.Tensor:
    # distinct positive values, so a shifted copy can be recognised and 0 means "padding"
    return (
        (torch.arange(1, 1 + torch.Size(shape).numel(), dtype=torch.float64) / 7)
        .to(dtype)
        .view(shape)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [1, 2])
def test_shape_dtype_and_determinism(dtype, dim):
    shape = (16, 3, 12, 10) if dim == 2 else (16, 2, 40)
    x = torch.randn(shape, generator=_gen(9), dtype=dtype)
    aug = Augment(crop_padding=3, cutout=4, dim=dim)
    a, b = aug(x, generator=_gen(1)), aug(x, generator=_gen(1))
    c = aug(x, generator=_gen(2))
    assert a.shape == x.shape and a.dtype == dtype and a.device == x.device
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)


def _is_shift_2d(out: torch.Tensor, x: torch.Tensor, p: int) -> bool:
    padded = F.pad(x, (p, p, p, p))
    h, w = x.shape[-2:]
    return any(
        torch.equal(out, padded[:, dy : dy + h, dx : dx + w])
        for dy in range(2 * p + 1)
        for dx in range(2 * p + 1)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_crop_is_a_zero_padded_shift_of_each_image(dtype):
    x = _distinct((32, 2, 9, 7), dtype)
    out = Augment(crop_padding=2, flip=False)(x, generator=_gen(3))
    assert all(_is_shift_2d(out[i], x[i], 2) for i in range(len(x)))
    # offsets vary across the batch (not one shift for all)
    assert len({int((out[i] == 0).sum()) for i in range(len(x))}) > 1


def test_crop_1d_is_a_shift():
    x = _distinct((32, 1, 40))
    p = 5
    out = Augment(crop_padding=p, dim=1)(x, generator=_gen(4))
    padded = F.pad(x, (p, p))
    shifts = []
    for i in range(len(x)):
        hits = [s for s in range(2 * p + 1) if torch.equal(out[i], padded[i, :, s : s + 40])]
        assert len(hits) == 1
        shifts.append(hits[0])
    assert len(set(shifts)) > 3


def test_flip_really_flips_about_half():
    x = _distinct((64, 3, 5, 6))
    out = Augment(crop_padding=0, flip=True)(x, generator=_gen(5))
    flipped = [bool(torch.equal(out[i], x[i].flip(-1))) for i in range(len(x))]
    kept = [bool(torch.equal(out[i], x[i])) for i in range(len(x))]
    assert all(f != k for f, k in zip(flipped, kept))  # each image is one or the other
    assert 16 < sum(flipped) < 48
    assert torch.equal(out[flipped.index(True), 0, 0], x[flipped.index(True), 0, 0].flip(-1))


@pytest.mark.parametrize("length", [8, 5])
def test_cutout_zeroes_one_clipped_square(length):
    size = 16
    x = torch.ones(256, 3, size, size, dtype=torch.float64)
    out = Augment(crop_padding=0, flip=False, cutout=length)(x, generator=_gen(6))
    full = 0
    for img in out:
        zero = img[0] == 0
        assert torch.equal(zero.expand_as(img), img == 0)  # same square in every channel
        rows, cols = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
        assert torch.equal(zero, zero.any(1)[:, None] & zero.any(0)[None, :])  # a rectangle
        for idx in (rows, cols):
            side = len(idx)
            assert int(idx[-1] - idx[0]) + 1 == side  # contiguous
            assert length // 2 <= side <= length
            touches = idx[0] == 0 or idx[-1] == size - 1
            assert side == length or touches  # only the image border clips it
        full += int(zero.sum()) == length * length
    # centres are uniform: the square fits whole for size - length + 1 of the size centres per
    # axis; the count of whole squares must sit within its binomial spread
    p = ((size - length + 1) / size) ** 2
    n = len(out)
    assert abs(full - n * p) < 4 * (n * p * (1 - p)) ** 0.5


def test_cutout_1d_segment():
    x = torch.ones(64, 2, 40)
    out = Augment(crop_padding=0, cutout=6, dim=1)(x, generator=_gen(7))
    for seq in out:
        idx = (seq[0] == 0).nonzero().flatten()
        assert torch.equal(seq[1] == 0, seq[0] == 0)
        assert 3 <= len(idx) <= 6 and int(idx[-1] - idx[0]) + 1 == len(idx)


def test_default_generator_and_integer_images():
    x = torch.randint(0, 255, (4, 3, 8, 8), dtype=torch.uint8)
    torch.manual_seed(0)
    a = Augment(cutout=2)(x)
    torch.manual_seed(0)
    assert torch.equal(a, Augment(cutout=2)(x)) and a.dtype == torch.uint8


def test_bad_arguments():
    with pytest.raises(ValueError, match="dim=.* must be one of 1, 2"):
        Augment(dim=3)
    with pytest.raises(ValueError, match="crop_padding=-1 must be an integer >= 0"):
        Augment(crop_padding=-1)
    with pytest.raises(ValueError, match="cutout=.* must be an integer >= 0"):
        Augment(cutout=2.5)
    with pytest.raises(ValueError, match="flip=True is for images"):
        Augment(flip=True, dim=1)
    with pytest.raises(ValueError, match=r"expects a \(B, C, H, W\) tensor, got \(3, 8, 8\)"):
        Augment()(torch.zeros(3, 8, 8))
    assert Augment(dim=1).flip is False and Augment().flip is True


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_matches_cpu_draws():
    x = torch.randn(64, 3, 16, 16, generator=_gen(8))
    aug = Augment(crop_padding=4, cutout=6)
    on_cpu = aug(x, generator=_gen(11))
    # a CPU generator drives a CUDA batch: same draws, so the very same pixels move
    on_cuda = aug(x.cuda(), generator=_gen(11))
    assert on_cuda.device.type == "cuda"
    assert torch.equal(on_cuda.cpu(), on_cpu)
    # a CUDA generator: reproducible on its own stream
    g1 = torch.Generator(device="cuda").manual_seed(3)
    g2 = torch.Generator(device="cuda").manual_seed(3)
    assert torch.equal(aug(x.cuda(), generator=g1), aug(x.cuda(), generator=g2))
    assert aug(x.double().cuda()).dtype == torch.float64


@pytest.mark.parametrize(
    "options, shape, match",
    [
        ({"cutout": 17, "crop_padding": 0}, (2, 1, 16, 16),
         "cutout=17 must be at most the image side 16: a longer cutout blanks whole inputs"),
        ({"cutout": 0, "crop_padding": 16}, (2, 1, 16, 20),
         "crop_padding=16 must be less than the image side 16"),
        ({"cutout": 41, "crop_padding": 0, "dim": 1}, (2, 1, 40),
         "cutout=41 must be at most the sequence length 40"),
    ],
)
def test_cutout_and_padding_longer_than_the_input_are_refused(options, shape, match):
    with pytest.raises(ValueError, match=match):
        Augment(flip=False, **options)(torch.ones(shape))
    Augment(flip=False, cutout=16, crop_padding=15)(torch.ones(2, 1, 16, 16))  # at the limit
