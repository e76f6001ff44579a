"""A user's own data on the command line: ``--data PATH`` and the options that read it, the
defaults of a run on it, and ``--tensorboard``.

``--data`` takes a built-in name or a path (an ``.npz`` file, ``X.npy,y.npy``, a ``.csv`` file, an
image folder), read by :func:`dnas.data.load` with ``--label-column``, ``--ignore-columns``,
``--layout``, ``--image-size``, ``--test-size``, ``--split-seed`` and ``--max-data-gb``. What
was inferred is printed (``data: ...``). The train/test split of a source without a test part is
drawn from ``--split-seed`` (not ``--seed``), so the search and the retraining of one architecture
hold out the same samples; a search records the data's absolute path and its options in
``architecture.json``, and ``dnas retrain`` reads the same data the same way unless told
otherwise.

Defaults for a user's data are sized for a first run on a CPU (those of the bundled digits):
search with 4 cells of C=8 for 10 epochs, retrain 8 cells of C=16 for 30 epochs, and no
augmentation or auxiliary head unless asked (``--crop-padding``, ``--flip``, ``--cutout``,
``--auxiliary``): whether a crop, a flip or a cut keeps the label depends on what the data mean.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnas.data.files import MAX_GB
from dnas.runtime.checks import check_float, check_int

if TYPE_CHECKING:
    from dnas.monitor import TensorBoard

#: Command-level options this module adds to ``dnas search`` and ``dnas retrain``.
OPTIONS: dict[str, Any] = {
    "label_column": None, "ignore_columns": None, "layout": "auto", "image_size": None,
    "test_size": 0.2, "split_seed": 0, "max_data_gb": MAX_GB, "tensorboard": None,
}
#: The options that decide how a user's data are read (recorded with a searched architecture).
DATA_OPTIONS = ("label_column", "ignore_columns", "layout", "image_size", "test_size",
                "split_seed", "max_data_gb")
#: Key of the per-data defaults of a user's data.
FILE = "file"
SEARCH_DEFAULTS: dict[str, Any] = {"channels": 8, "layers": 4, "epochs": 10, "arch_lr": 3e-3}
RETRAIN_DEFAULTS: dict[str, Any] = {
    "channels": 16, "layers": 8, "epochs": 30, "batch_size": 64, "cutout": 0, "crop_padding": 0,
    "flip": False, "auxiliary": False,
}


def add_flags(p: argparse.ArgumentParser, command: str) -> None:
    """The data-reading flags and ``--tensorboard`` (defaults suppressed, as the parsers do)."""
    g = p.add_argument_group("your own data (--data PATH)")
    g.add_argument("--label-column", help="CSV: the label column (default: label, target, class "
                   "or y)")
    g.add_argument("--ignore-columns", help="CSV: columns to drop, comma-separated (ids...)")
    g.add_argument("--layout", help="axes of array/CSV inputs: auto | tabular | NL | NCL | NLC | "
                   "NHW | NCHW | NHWC (default auto)")
    g.add_argument("--image-size", help="image folders: resize to N or HxW (needed when sizes "
                   "differ)")
    g.add_argument("--test-size", type=float, help="share of each class held out for testing "
                   "when the data have no test part (0.2)")
    g.add_argument("--split-seed", type=int, help="seed of that train/test split (0)")
    g.add_argument("--max-data-gb", type=float, help=f"refuse data larger than this in memory "
                   f"(float32; default {MAX_GB:g})")
    p.add_argument("--tensorboard", nargs="?", const=True, metavar="DIR",
                   help="write TensorBoard event files (default DIR: <out>/tensorboard)")
    if command == "retrain":
        p.add_argument("--auxiliary", dest="auxiliary", action="store_true",
                       help="add the auxiliary head (DARTS; needs inputs of 32 or more)")


def is_file(data: Any) -> bool:
    """Whether ``data`` names a user's file or folder rather than a built-in dataset."""
    from dnas.data import is_path

    return data is not None and is_path(data)


def defaults_key(data: Any) -> Any:
    """The key of ``data``'s per-data defaults: :data:`FILE` for a user's data, else the name."""
    return FILE if is_file(data) else data


def check(resolved: Mapping[str, Any]) -> None:
    """The paths exist and the reading options are well-formed (before anything is loaded)."""
    from dnas.data import DATASETS
    from dnas.data.files import source_paths
    from dnas.data.layout import check_layout

    data = resolved["data"]
    try:
        source_paths(data)
    except ValueError as err:
        if isinstance(data, str) and not any(c in data for c in "/\\.,"):
            raise ValueError(
                f"data={data!r} is neither a dataset ({', '.join(DATASETS)}) nor an existing "
                "file or folder"
            ) from None
        raise ValueError(f"data: {err}") from None
    check_layout(resolved.get("layout", "auto"))
    check_float("test_size", resolved.get("test_size", 0.2), 0, 1, low_open=True, high_open=True)
    check_int("split_seed", resolved.get("split_seed", 0), 0)
    check_float("max_data_gb", resolved.get("max_data_gb", MAX_GB), 0, low_open=True)


def load(resolved: Mapping[str, Any]) -> Any:
    """The user's data set, read with the command's options."""
    from dnas.data import load as load_data

    ignore = resolved.get("ignore_columns") or ()
    return load_data(
        resolved["data"], seed=resolved.get("split_seed", 0),
        label_column=resolved.get("label_column"), ignore_columns=ignore,
        layout=resolved.get("layout", "auto"), image_size=resolved.get("image_size"),
        test_size=resolved.get("test_size", 0.2), max_gb=resolved.get("max_data_gb", MAX_GB),
    )


def describe(data: Any) -> None:
    """Print what was inferred from a user's data (nothing for a built-in dataset)."""
    if getattr(data, "description", ""):
        print(f"data: {data.description}")


def absolute(data: str) -> str:
    """``data``'s path(s), absolute (a run folder's record must not depend on the cwd)."""
    from dnas.data.files import source_paths

    return ",".join(str(p.resolve()) for p in source_paths(data))


def record(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """What ``architecture.json`` keeps of a user's data: the absolute path and its options."""
    if not is_file(resolved.get("data")):
        return {}
    options = {k: resolved[k] for k in DATA_OPTIONS if resolved.get(k) != OPTIONS[k]}
    return {"data": absolute(resolved["data"]), "data_options": options}


def retrain_base(meta: Mapping[str, Any], data_given: bool) -> dict[str, Any]:
    """Defaults a retraining takes from its architecture: the data (and how it was read)."""
    base = {k: meta[k] for k in ("data", "dim") if k in meta}
    if not data_given and isinstance(meta.get("data_options"), Mapping):
        base.update({k: v for k, v in meta["data_options"].items() if k in DATA_OPTIONS})
    return base


def run_name(data: Any) -> str:
    """A short name for run folders: the dataset name, or the file or folder's stem."""
    if not is_file(data):
        return str(data)
    first = str(data).split(",")[0].rstrip("/\\")
    return Path(first).stem or "data"


def tensorboard(resolved: Mapping[str, Any], out: Path) -> TensorBoard | None:
    """The TensorBoard callback ``--tensorboard`` asks for (None when it does not)."""
    where = resolved.get("tensorboard")
    if not where:
        return None
    from dnas.monitor import TensorBoard

    folder = out / "tensorboard" if where is True else Path(os.fspath(where))
    try:
        return TensorBoard(folder)
    except ImportError as exc:  # the command line reports it as one line, exit status 2
        raise ValueError(f"--tensorboard: {exc}") from None
