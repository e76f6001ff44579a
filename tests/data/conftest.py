"""Fixtures writing CIFAR-10 batch files byte for byte as Python 2's cPickle did (protocol 2).

Python 3 cannot produce that format by itself: with protocol 2 it pickles ``bytes`` through a
``_codecs.encode`` call, which the safe loader (rightly) refuses. The real files store every
string as a Python 2 ``str`` (``SHORT_BINSTRING``/``BINSTRING``) and arrays through
``numpy.core.multiarray._reconstruct``, so this small writer emits exactly those opcodes.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest


def write_py2_pickle(obj: object, reconstruct_module: str = "numpy.core.multiarray") -> bytes:
    """Serialise dicts, lists, tuples, ints, str/bytes, None, bools and numpy arrays as Python 2."""
    out = bytearray(b"\x80\x02")  # PROTO 2

    def global_(module: str, name: str) -> None:
        out.extend(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def write(o: object) -> None:
        if o is None:
            out.extend(b"N")
        elif isinstance(o, bool):
            out.extend(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            if 0 <= o < 256:
                out.extend(b"K" + bytes([o]))
            elif 0 <= o < 65536:
                out.extend(b"M" + struct.pack("<H", o))
            else:
                out.extend(b"J" + struct.pack("<i", o))
        elif isinstance(o, str | bytes):  # a Python 2 str is a byte string
            s = o.encode("latin1") if isinstance(o, str) else o
            if len(s) < 256:
                out.extend(b"U" + bytes([len(s)]) + s)
            else:
                out.extend(b"T" + struct.pack("<I", len(s)) + s)
        elif isinstance(o, tuple):
            out.extend(b"(")
            for item in o:
                write(item)
            out.extend(b"t")
        elif isinstance(o, list):
            out.extend(b"](")
            for item in o:
                write(item)
            out.extend(b"e")
        elif isinstance(o, dict):
            out.extend(b"}(")
            for k, v in o.items():
                write(k)
                write(v)
            out.extend(b"u")
        elif isinstance(o, np.dtype):
            global_("numpy", "dtype")
            write((o.str[1:], 0, 1))
            out.extend(b"R")
            write((3, o.str[0] if o.itemsize > 1 else "|", None, None, None, -1, -1, 0))
            out.extend(b"b")
        elif isinstance(o, np.ndarray):
            global_(reconstruct_module, "_reconstruct")
            global_("numpy", "ndarray")
            write((0,))
            write("b")
            out.extend(b"\x87R")  # TUPLE3, REDUCE
            write((1, o.shape, o.dtype, False, np.ascontiguousarray(o).tobytes()))
            out.extend(b"b")  # BUILD
        else:
            raise TypeError(type(o))

    write(obj)
    out.extend(b".")
    return bytes(out)


def make_cifar_batch(rows: int, seed: int) -> tuple[dict[str, object], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=rows)
    batch = {
        "batch_label": f"training batch {seed} of 5",
        "labels": [int(v) for v in labels],
        "data": data,
        "filenames": [f"img_{seed}_{i}.png" for i in range(rows)],
    }
    return batch, data, labels


@pytest.fixture
def py2_pickle():
    """The Python 2 protocol-2 writer (a fixture, so test modules need not import conftest)."""
    return write_py2_pickle


@pytest.fixture
def cifar_batch():
    """``make_cifar_batch(rows, seed) -> (batch dict, data, labels)``."""
    return make_cifar_batch


@pytest.fixture
def cifar_folder(tmp_path: Path) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """A ``cifar-10-batches-py`` folder of five 6-row train batches and an 8-row test batch."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    contents = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        batch, data, labels = make_cifar_batch(8 if name == "test_batch" else 6, seed=i)
        (folder / name).write_bytes(write_py2_pickle(batch))
        contents[name] = (data, labels)
    names = ["airplane", "automobile", "bird", "cat", "deer"]
    names += ["dog", "frog", "horse", "ship", "truck"]
    meta = {"num_cases_per_batch": 10000, "label_names": names, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(write_py2_pickle(meta))
    return folder, contents
