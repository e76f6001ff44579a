"""A user's image folder: classes from sub-folders, channels, sizes, splits, bad folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dnas.data import load


def make_folder(root, classes=("cat", "dog"), per_class=5, size=(12, 10), mode="RGB", seed=0,
                ext="png"):
    """``per_class`` random images per class; returns {relative path: pixel array}."""
    rng = np.random.default_rng(seed)
    pixels = {}
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape = (*size, 3) if mode == "RGB" else size
            arr = rng.integers(0, 256, size=shape).astype(np.uint8)
            Image.fromarray(arr).convert(mode).save(root / c / f"{i}.{ext}")
            pixels[f"{c}/{i}.{ext}"] = arr
    return pixels


def test_rgb_folder_values_channels_and_classes(tmp_path):
    pixels = make_folder(tmp_path / "img")
    ds = load(tmp_path / "img", test_size=0.2)
    assert (ds.kind, ds.dim, ds.in_channels, ds.input_shape) == ("image", 2, 3, (3, 12, 10))
    assert ds.class_names == ("cat", "dog") and ds.num_classes == 2
    assert (len(ds.y_train), len(ds.y_test)) == (8, 2)
    assert torch.bincount(ds.y_test).tolist() == [1, 1]
    # PNG is lossless: each tensor is one of its class's images, scaled to [0, 1]
    X, y = torch.cat([ds.X_train, ds.X_test]), torch.cat([ds.y_train, ds.y_test])
    for x, label in zip(X, y):
        arr = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        cls = ds.class_names[label]
        assert any(np.array_equal(arr, p) for k, p in pixels.items() if k.startswith(cls))
    assert "10 RGB images in 2 class folders" in ds.description


def test_grey_jpeg_folder_and_mixed_modes(tmp_path):
    make_folder(tmp_path / "g", mode="L", ext="jpg")
    ds = load(tmp_path / "g")
    assert ds.in_channels == 1 and ds.input_shape == (1, 12, 10)
    assert "grey" in ds.description
    # one colour image makes the whole set RGB (grey ones repeated over the 3 channels)
    make_folder(tmp_path / "g", classes=("dog",), per_class=1, mode="RGB", seed=5, ext="png")
    assert load(tmp_path / "g").in_channels == 3


def test_16_bit_grey_images_scale_by_65535(tmp_path):
    for c in ("a", "b"):
        (tmp_path / "d" / c).mkdir(parents=True)
        for i in range(3):
            arr = np.full((4, 4), 65535 if c == "a" else 0, dtype=np.uint16)
            Image.fromarray(arr).save(tmp_path / "d" / c / f"{i}.png")
    ds = load(tmp_path / "d", test_size=0.34)
    X, y = torch.cat([ds.X_train, ds.X_test]), torch.cat([ds.y_train, ds.y_test])
    assert ds.in_channels == 1
    assert torch.allclose(X[y == 0], torch.ones(())) and torch.all(X[y == 1] == 0)


def test_mixed_sizes_need_image_size(tmp_path):
    make_folder(tmp_path / "m", size=(12, 10))
    make_folder(tmp_path / "m", classes=("bird",), size=(20, 16), seed=3)
    with pytest.raises(ValueError, match=r"differ in size \(.*\): pass image_size "
                                         r"\(--image-size HxW or N\)"):
        load(tmp_path / "m")
    ds = load(tmp_path / "m", image_size="8x6")
    assert ds.input_shape == (3, 8, 6) and ds.num_classes == 3
    assert "resized to 8x6" in ds.description
    assert load(tmp_path / "m", image_size=7).input_shape == (3, 7, 7)
    assert float(ds.X_train.min()) >= 0 and float(ds.X_train.max()) <= 1


def test_train_test_sub_folders_are_the_split(tmp_path):
    make_folder(tmp_path / "s" / "train", per_class=4)
    make_folder(tmp_path / "s" / "val", per_class=2, seed=1)
    ds = load(tmp_path / "s")
    assert (len(ds.y_train), len(ds.y_test)) == (8, 4)
    assert "the source's own split" in ds.description
    make_folder(tmp_path / "s" / "val", classes=("fox",), per_class=1, seed=2)
    with pytest.raises(ValueError, match="has class folder.* fox that .* lacks"):
        load(tmp_path / "s")


def test_classes_named_train_and_test_among_others_are_classes(tmp_path):
    make_folder(tmp_path / "c", classes=("train", "test", "other"), per_class=3)
    assert load(tmp_path / "c", test_size=0.34).num_classes == 3


def test_hidden_and_non_image_files_are_skipped(tmp_path):
    make_folder(tmp_path / "h")
    (tmp_path / "h" / "cat" / "notes.txt").write_text("x")
    (tmp_path / "h" / "cat" / ".thumb.png").write_bytes(b"junk")
    (tmp_path / "h" / "README.md").write_text("about")
    assert len(load(tmp_path / "h").y_train) + len(load(tmp_path / "h").y_test) == 10


def _empty_class(root):
    (root / "cat").mkdir()


def _corrupt_image(root):
    (root / "dog" / "bad.png").write_bytes(b"not a png")


def _loose_image(root):
    Image.new("RGB", (10, 12)).save(root / "loose.png")


@pytest.mark.parametrize(
    "spoil, needle",
    [
        (_empty_class, "class folder {root}/cat holds no images (.png .jpg"),
        (_corrupt_image, "cannot read image {root}/dog/bad.png"),
        (_loose_image, "holds images outside the class folders (loose.png...)"),
    ],
)
def test_malformed_folders(tmp_path, spoil, needle):
    root = tmp_path / "img"
    make_folder(root, classes=("dog", "fox"))
    spoil(root)
    with pytest.raises(ValueError) as info:
        load(root)
    assert needle.format(root=root) in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_folders_that_are_not_class_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no class folders"):
        load(tmp_path / "empty")
    make_folder(tmp_path / "one", classes=("cat",))
    with pytest.raises(ValueError, match="a single class folder"):
        load(tmp_path / "one")
    make_folder(tmp_path / "ok")
    with pytest.raises(ValueError, match="layout='NHWC' does not apply to an image folder"):
        load(tmp_path / "ok", layout="NHWC")
    with pytest.raises(ValueError, match="image_size='big' must be a positive integer"):
        load(tmp_path / "ok", image_size="big")


def test_image_memory_is_estimated_from_headers(tmp_path):
    make_folder(tmp_path / "img", size=(64, 64))
    with pytest.raises(ValueError, match=r"10 images x 3 x 64 x 64.*over the 0.0001 GiB limit"):
        load(tmp_path / "img", max_gb=0.0001)
    # the estimate uses the size the images will have
    assert load(tmp_path / "img", image_size=4, max_gb=0.0001).input_shape == (3, 4, 4)
