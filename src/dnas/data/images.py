"""An image folder: one sub-folder per class, images read with Pillow.

    root/cat/001.png, root/cat/002.jpg, ..., root/dog/...          (split later), or
    root/train/cat/..., root/train/dog/..., root/test/cat/...      (``test``, ``val``, ``valid``
                                                                    or ``validation``)

Class folders are searched recursively for ``.png .jpg .jpeg .bmp .gif .webp .tif .tiff`` files
(hidden files and other files are skipped). A first pass reads only the headers: every image must
have the same size unless ``image_size`` is given, and the memory the tensors will take is known
before any pixel is decoded. The second pass decodes: EXIF orientation applied, RGB when any image
has colour (alpha dropped, palettes expanded), else one grey channel; 8-bit values scaled by
1/255, 16-bit by 1/65535, float images kept; resized with Pillow's bilinear filter (area-aware
when shrinking) to ``image_size``. Values end in [0, 1] and are not normalised: the network's stem
is a convolution followed by BatchNorm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SPLIT_NAMES = {"test": "test", "val": "test", "valid": "test", "validation": "test"}
_GREY = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def _pillow() -> Any:
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:  # a core dependency, but say so when it is missing
        raise ImportError("image folders are read with Pillow: pip install pillow") from exc
    return Image, ImageOps


@dataclass(frozen=True)
class Scan:
    """The files of an image folder, from headers only."""

    files: dict[str, list[tuple[Path, int]]]  # part ("train"/"test") -> [(file, class index)]
    classes: tuple[str, ...]
    sizes: dict[tuple[int, int], Path]  # (height, width) -> first file of that size
    channels: int
    split: bool  # True: the folder has train/ and test/ parts


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in EXTENSIONS and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _parts(root: Path) -> dict[str, Path] | None:
    """``{"train": folder, "test": folder}`` when ``root`` is split, else None."""
    subdirs = {p.name.lower(): p for p in _visible_dirs(root)}
    tests = [name for name in subdirs if name in SPLIT_NAMES]
    if "train" not in subdirs or not tests:
        return None
    if len(tests) > 1:
        raise ValueError(f"{root} has several test folders ({', '.join(sorted(tests))}): keep one")
    if set(subdirs) - {"train", tests[0]}:
        return None  # "train" and "test" are two classes among others
    parts = {"train": subdirs["train"], "test": subdirs[tests[0]]}
    if all(_visible_dirs(p) for p in parts.values()):
        return parts
    return None


def _class_folders(folder: Path) -> list[Path]:
    classes = _visible_dirs(folder)
    if not classes:
        raise ValueError(
            f"{folder} has no class folders: expected one sub-folder per class, each holding "
            f"images ({' '.join(EXTENSIONS)})"
        )
    loose = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS]
    if loose:
        raise ValueError(
            f"{folder} holds images outside the class folders ({loose[0].name}...): put every "
            "image in the sub-folder of its class"
        )
    return classes


def scan(root: Path) -> Scan:
    """Find the classes and images of ``root`` and read every image header."""
    Image, _ = _pillow()
    parts = _parts(root)
    folders = parts if parts is not None else {"train": root}
    per_part = {name: _class_folders(folder) for name, folder in folders.items()}
    classes = tuple(p.name for p in per_part["train"])
    if "test" in per_part:
        extra = sorted({p.name for p in per_part["test"]} - set(classes))
        if extra:
            raise ValueError(
                f"{folders['test']} has class folder(s) {', '.join(extra)} that "
                f"{folders['train']} lacks"
            )
    files: dict[str, list[tuple[Path, int]]] = {}
    sizes: dict[tuple[int, int], Path] = {}
    colour = False
    for part, class_dirs in per_part.items():
        files[part] = []
        for class_dir in class_dirs:
            found = _images(class_dir)
            if not found:
                raise ValueError(
                    f"class folder {class_dir} holds no images ({' '.join(EXTENSIONS)})"
                )
            index = classes.index(class_dir.name)
            for path in found:
                try:
                    with Image.open(path) as img:
                        width, height = img.size
                        mode = img.mode
                except (OSError, ValueError, SyntaxError) as exc:
                    raise ValueError(f"cannot read image {path}: {exc}") from None
                sizes.setdefault((height, width), path)
                colour = colour or mode not in _GREY
                files[part].append((path, index))
    if len(classes) < 2:
        raise ValueError(
            f"{root} has a single class folder ({classes[0]}): classification needs at least 2"
        )
    return Scan(files, classes, sizes, 3 if colour else 1, parts is not None)


def _to_array(img: Any, channels: int, size: tuple[int, int] | None, Image: Any) -> np.ndarray:
    """One decoded image as float32 ``(channels, H, W)`` in [0, 1]."""
    if channels == 3:
        img = img.convert("RGB")
        scale = 255.0
    elif img.mode in ("1", "L", "LA", "P"):
        img = img.convert("L")
        scale = 255.0
    else:  # 16-bit or 32-bit integer grey, or float: scale before resizing in float mode
        raw = np.asarray(img)
        scale = 65535.0 if raw.dtype.kind in "iu" else 1.0
        img = Image.fromarray(raw.astype(np.float32) / scale)  # mode "F"
        scale = 1.0
    if size is not None and (img.height, img.width) != size:
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / scale
    return arr.transpose(2, 0, 1) if arr.ndim == 3 else arr[None]


def decode(items: list[tuple[Path, int]], channels: int, size: tuple[int, int]) -> np.ndarray:
    """The images of ``items`` as one float32 ``(N, channels, H, W)`` array."""
    Image, ImageOps = _pillow()
    out = np.empty((len(items), channels, *size), dtype=np.float32)
    for i, (path, _) in enumerate(items):
        try:
            with Image.open(path) as img:
                img = ImageOps.exif_transpose(img)
                out[i] = _to_array(img, channels, size, Image)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ValueError(f"cannot decode image {path}: {exc}") from None
    return out


def parse_size(value: object) -> tuple[int, int] | None:
    """``image_size`` as ``(height, width)``: an int, ``"HxW"``, or a pair; None stays None."""
    if value is None:
        return None
    pair: Any = value
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif isinstance(value, str):
        text = value.lower().replace(" ", "")
        pieces = text.split("x") if "x" in text else text.split(",")
        pair = tuple(pieces) if len(pieces) == 2 else (text, text)
        try:
            pair = tuple(int(p) for p in pair)
        except ValueError:
            pair = None
    if (
        isinstance(pair, (tuple, list)) and len(pair) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair)
    ):
        return int(pair[0]), int(pair[1])
    raise ValueError(
        f"image_size={value!r} must be a positive integer (square) or HEIGHTxWIDTH such as 32x48"
    )
