"""CIFAR-10 from local files: exact decoding, and one-line refusals of anything else."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from dnas.data import CIFAR10_MEAN, CIFAR10_STD
from dnas.data.cifar10 import load_cifar10

TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def _expected_images(data: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(data.astype(np.float32) / 255.0).view(-1, 3, 32, 32)


def test_decodes_the_python2_batches_exactly(cifar_folder):
    folder, contents = cifar_folder
    ds = load_cifar10(folder.parent, normalize=False)
    assert ds.X_train.shape == (30, 3, 32, 32) and ds.X_test.shape == (8, 3, 32, 32)
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    train_data = np.concatenate([contents[n][0] for n in TRAIN])
    train_labels = np.concatenate([contents[n][1] for n in TRAIN])
    torch.testing.assert_close(ds.X_train, _expected_images(train_data), rtol=0, atol=0)
    torch.testing.assert_close(ds.X_test, _expected_images(contents["test_batch"][0]))
    assert ds.y_train.tolist() == train_labels.tolist()
    assert ds.y_test.tolist() == contents["test_batch"][1].tolist()
    # row layout: the first 1024 bytes are the red plane, row-major
    assert ds.X_train[0, 0, 0, 1] == train_data[0, 1] / 255.0
    assert ds.X_train[0, 2, 31, 31] == train_data[0, 3071] / 255.0
    assert ds.X_train.min() >= 0.0 and ds.X_train.max() <= 1.0
    assert ds.class_names[0] == "airplane" and len(ds.class_names) == 10
    assert (ds.num_classes, ds.in_channels, ds.dim, ds.name) == (10, 3, 2, "cifar10")


def test_normalisation_uses_the_cifar_statistics(cifar_folder):
    folder, _ = cifar_folder
    raw = load_cifar10(folder, normalize=False)  # the folder itself works as root too
    norm = load_cifar10(folder)
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(norm.X_train, (raw.X_train - mean) / std)
    torch.testing.assert_close(norm.X_test, (raw.X_test - mean) / std)


def test_numpy2_module_name_is_accepted(tmp_path, cifar_batch, py2_pickle):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i, name in enumerate([*TRAIN, "test_batch"]):
        batch, _, _ = cifar_batch(3, seed=i)
        (folder / name).write_bytes(py2_pickle(batch, reconstruct_module="numpy._core.multiarray"))
    assert load_cifar10(tmp_path).X_train.shape == (15, 3, 32, 32)


def test_python3_repickled_batches_load(tmp_path, cifar_batch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i, name in enumerate([*TRAIN, "test_batch"]):
        batch, data, _ = cifar_batch(2, seed=i)
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    ds = load_cifar10(folder, normalize=False)
    torch.testing.assert_close(ds.X_test[:1], _expected_images(data[:1]))


def test_missing_folder_and_files(tmp_path, cifar_folder):
    with pytest.raises(ValueError, match="is not a folder"):
        load_cifar10(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no CIFAR-10 batches"):
        load_cifar10(tmp_path / "empty")
    with pytest.raises(ValueError, match="needs root"):
        load_cifar10(None)
    folder, _ = cifar_folder
    (folder / "data_batch_3").unlink()
    with pytest.raises(ValueError, match=r"lacks batch file.*data_batch_3"):
        load_cifar10(folder)


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated inside the array bytes
        lambda raw: raw[:40],  # truncated inside the header
        lambda raw: b"not a pickle at all",
        lambda raw: b"",
    ],
)
def test_corrupt_or_truncated_file(cifar_folder, damage):
    folder, _ = cifar_folder
    path = folder / "data_batch_2"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=r"data_batch_2 is corrupt or truncated") as info:
        load_cifar10(folder)
    assert "\n" not in str(info.value)


class _RunsShell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_pickle_is_refused_and_not_executed(cifar_folder, tmp_path, protocol):
    folder, _ = cifar_folder
    marker = tmp_path / "pwned"
    payload = pickle.dumps(
        {"data": _RunsShell(f"touch {marker}"), "labels": [0]}, protocol=protocol
    )
    # the payload is live: a plain pickle.loads runs the command
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()

    (folder / "test_batch").write_bytes(payload)
    with pytest.raises(
        ValueError, match=r"refusing to load .*test_batch: it asks for posix\.system"
    ):
        load_cifar10(folder)
    assert not marker.exists()


def test_other_globals_and_object_arrays_are_refused(cifar_folder):
    folder, _ = cifar_folder
    evil = b"\x80\x02cbuiltins\neval\nU\x041+1\x85R."
    (folder / "data_batch_1").write_bytes(evil)
    with pytest.raises(ValueError, match=r"asks for builtins\.eval"):
        load_cifar10(folder)
    objects = np.array([1, "x"], dtype=object)
    (folder / "data_batch_1").write_bytes(
        pickle.dumps({"data": objects, "labels": [0, 1]}, protocol=4)
    )
    with pytest.raises(ValueError, match=r"refusing to load .*object dtype"):
        load_cifar10(folder)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"data": np.zeros((4, 3071), np.uint8), "labels": [0] * 4}, r"shape \(4, 3071\)"),
        ({"data": np.zeros((4, 3072), np.float32), "labels": [0] * 4}, "float32 array"),
        ({"data": np.zeros((0, 3072), np.uint8), "labels": []}, r"shape \(0, 3072\)"),
        ({"data": np.zeros((4, 3072), np.uint8), "labels": [0] * 3}, "3 labels for 4 images"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, "labels outside 0..9"),
        ({"data": np.zeros((2, 3072), np.uint8)}, "no 'labels' entry"),
        ([1, 2, 3], "holds a list"),
    ],
)
def test_wrong_contents(cifar_folder, py2_pickle, batch, message):
    folder, _ = cifar_folder
    (folder / "data_batch_4").write_bytes(py2_pickle(batch))
    with pytest.raises(ValueError, match=f"data_batch_4.*{message}"):
        load_cifar10(folder)


def test_broken_meta_file(cifar_folder, py2_pickle):
    folder, _ = cifar_folder
    (folder / "batches.meta").write_bytes(py2_pickle({"label_names": ["cat", "dog"]}))
    with pytest.raises(ValueError, match=r"batches\.meta does not list 10 label names"):
        load_cifar10(folder)
    (folder / "batches.meta").write_bytes(b"\x80\x02}q")
    with pytest.raises(ValueError, match=r"batches\.meta is corrupt or truncated"):
        load_cifar10(folder)
