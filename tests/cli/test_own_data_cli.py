"""A user's own data through ``main(argv)``: search, retrain and export an image folder and a CSV
file end to end; malformed data is one line and exit status 2."""

from __future__ import annotations

import importlib.util
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
import torch
from PIL import Image

from dnas import Architecture
from dnas.cli.main import main
from dnas.deploy import load_exported
from dnas.runtime.checkpoint import load_checkpoint
from dnas.spaces import darts

TINY = ["-C", "2", "--layers", "3", "--batch", "8", "--device", "cpu", "--threads", "1",
        "--no-progress"]
has_onnx = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
has_tensorboard = importlib.util.find_spec("tensorboard") is not None


def image_folder(root, classes=("circle", "square", "stripe"), per_class=12, size=(8, 8), seed=0):
    """A few dozen tiny PNGs whose class shows in the pixels."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (*size, 3)).astype(np.uint8)
            pixels[k::3, :, k] += 150
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")
    return root


def sequence_csv(path, n=48, length=24, seed=0):
    """One signal per row (columns t0..t23), label column 'kind' named on the command line."""
    rng = np.random.default_rng(seed)
    lines = [",".join(f"t{i}" for i in range(length)) + ",kind"]
    for i in range(n):
        slow = i % 2
        x = np.sin(np.linspace(0, (2 if slow else 5) * np.pi, length)) + 0.3 * rng.normal(
            size=length)
        lines.append(",".join(f"{v:.4f}" for v in x) + f",{'slow' if slow else 'fast'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def exported_agrees(path, run_folder, batch):
    """The file, run by its runtime, against the network rebuilt from model.pt by hand."""
    results = json.loads((run_folder / "results.json").read_text())
    arch = Architecture.load(run_folder / "architecture.json")
    state = load_checkpoint(run_folder / "model.pt")["model"]
    model = darts.eval_network(arch, C=2, layers=3, num_classes=results["num_classes"],
                               auxiliary=False, dim=len(results["input_shape"]) - 1,
                               in_channels=results["input_shape"][0])
    model.load_state_dict(state)
    model.eval()
    x = torch.randn(batch, *results["input_shape"], generator=torch.Generator().manual_seed(5))
    exported = load_exported(path)
    assert list(exported.input_shape) == [None, *results["input_shape"]]
    assert exported.metadata["class_names"] == results["class_names"]
    with torch.no_grad():
        assert float((exported(x) - model(x)).abs().max()) <= 1e-4


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    """Search, then retrain, on a folder of 36 tiny PNGs; the outputs of both commands."""
    tmp = tmp_path_factory.mktemp("own-images")
    folder = image_folder(tmp / "shapes")
    board = ["--tensorboard"] if has_tensorboard else []
    outputs = []
    for argv in (
        ["search", "--data", str(folder), "--epochs", "2", "--steps-per-epoch", "2",
         "--out", str(tmp / "search"), *board, *TINY],
        ["retrain", "--arch", str(tmp / "search" / "architecture.json"), "--epochs", "1",
         "--out", str(tmp / "retrain"), *TINY],
    ):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            assert main(argv) == 0, err.getvalue()
        outputs.append(out.getvalue())
    return tmp, folder, outputs


def test_image_folder_search_retrain_export(image_runs, capsys):
    tmp, folder, (search_out, retrain_out) = image_runs
    data_line = search_out.splitlines()[0]
    assert data_line.startswith(f"data: {folder}: image folder, 36 RGB images in 3 class folders")
    assert "2-D images: 3 channel(s) x 8x8" in data_line
    assert "3 classes (circle, square, stripe)" in data_line
    assert "train 30 / test 6 (stratified 20% split, seed 0)" in data_line
    meta = Architecture.load(tmp / "search" / "architecture.json").meta
    assert meta["data"] == str(folder.resolve()) and meta["dim"] == 2
    assert (meta["in_channels"], meta["num_classes"]) == (3, 3)
    if has_tensorboard:
        assert list((tmp / "search" / "tensorboard").glob("events.out.tfevents.*"))

    # retrain read the data the search recorded, the same way, with the same split
    expected = data_line.replace(f"data: {folder}", f"data: {folder.resolve()}")
    assert retrain_out.splitlines()[0] == expected
    results = json.loads((tmp / "retrain" / "results.json").read_text())
    assert results["input_shape"] == [3, 8, 8] and results["num_classes"] == 3
    assert results["class_names"] == ["circle", "square", "stripe"]
    assert (tmp / "retrain" / "architecture.json").is_file()

    out = run(capsys, ["export", str(tmp / "retrain")])
    written = tmp / "retrain" / "model.torchscript.pt"
    assert f"exported: {written} (torchscript, input (batch, 3, 8, 8))" in out
    assert "checked against PyTorch on random inputs (batch sizes 2, 1, 3): max abs diff" in out
    exported_agrees(written, tmp / "retrain", 5)
    if has_onnx:
        out = run(capsys, ["export", str(tmp / "retrain"), "--format", "onnx"])
        assert "(onnx, input (batch, 3, 8, 8))" in out
        exported_agrees(tmp / "retrain" / "model.onnx", tmp / "retrain", 4)


def test_csv_search_retrain_export(tmp_path, capsys):
    csv = sequence_csv(tmp_path / "signals.csv")
    out = run(capsys, ["search", "--data", str(csv), "--label-column", "kind", "--epochs", "1",
                       "--steps-per-epoch", "2", "--out", str(tmp_path / "s"), *TINY])
    assert "24 numeric column(s) t0..t23; 1-D sequences: 1 channel(s) x length 24" in out
    assert "2 classes (fast, slow)" in out
    meta = Architecture.load(tmp_path / "s" / "architecture.json").meta
    assert meta["data_options"] == {"label_column": "kind"} and meta["dim"] == 1
    # no --label-column here: it comes with the architecture
    run(capsys, ["retrain", "--arch", str(tmp_path / "s" / "architecture.json"), "--epochs", "1",
                 "--out", str(tmp_path / "r"), *TINY])
    assert json.loads((tmp_path / "r" / "results.json").read_text())["input_shape"] == [1, 24]
    for fmt, name in (("torchscript", "model.torchscript.pt"), ("onnx", "model.onnx")):
        if fmt == "onnx" and not has_onnx:
            continue
        out = run(capsys, ["export", str(tmp_path / "r"), "--format", fmt])
        assert f"({fmt}, input (batch, 1, 24))" in out
        exported_agrees(tmp_path / "r" / name, tmp_path / "r", 3)


def test_tabular_csv_searches_on_features_as_channels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = ["id,height,weight,age,label"] + [
        f"{i},{rng.normal():.3f},{rng.normal():.3f},{rng.normal():.3f},{'ab'[i % 2]}"
        for i in range(40)
    ]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    out = run(capsys, ["search", "--data", str(tmp_path / "t.csv"), "--ignore-columns", "id",
                       "--epochs", "1", "--steps-per-epoch", "1", "--out", str(tmp_path / "s"),
                       *TINY])
    assert "tabular: 3 features -> 3 channels x length 1 (1-D)" in out
    assert "search finished" in out


def _one_line_error(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def _mixed_sizes(tmp):
    image_folder(tmp / "d", classes=("a",), per_class=2, size=(8, 8))
    image_folder(tmp / "d", classes=("b",), per_class=2, size=(6, 9), seed=1)
    return ["--data", str(tmp / "d")]


def _empty_class(tmp):
    image_folder(tmp / "d", classes=("a", "b"), per_class=2)
    (tmp / "d" / "c").mkdir()
    return ["--data", str(tmp / "d")]


def _csv(text, *extra):
    def make(tmp):
        (tmp / "d.csv").write_text(text)
        return ["--data", str(tmp / "d.csv"), *extra]
    return make


def _npz(**arrays):
    def make(tmp):
        np.savez(tmp / "d.npz", **arrays)
        return ["--data", str(tmp / "d.npz")]
    return make


@pytest.mark.parametrize(
    "make, needles",
    [
        (_mixed_sizes, ["differ in size", "--image-size"]),
        (_empty_class, ["class folder", "holds no images"]),
        (_csv("a,b,label\n1,2,x\n3,oops,y\n"), ["line 3: column 'b' holds 'oops', not a number"]),
        (_csv("a,b,label\n1,2,0.5\n3,4,1\n"),
         ["labels are not integers or strings (0.5 at line 2)"]),
        (_csv("a,b,label\n1,2,0\n3,nan,1\n"), ["1 NaN or infinite value(s)", "line 3, column 'b'"]),
        (_csv("a,b,c\n1,2,0\n"), ["which column holds the labels", "--label-column"]),
        (_csv("a,b,c\n1,2,0\n", "--label-column", "z"), ["has no column 'z'"]),
        (_npz(X=np.zeros((8, 12, 20)), y=np.arange(8) % 2), ["--layout"]),
        (_npz(X=np.zeros((8, 4)), y=np.arange(8) % 2), []),  # fine data, bad layout flag below
        (_npz(X=np.zeros((500, 3, 16, 16)), y=np.arange(500) % 2), ["GiB", "--max-data-gb"]),
        (lambda tmp: ["--data", str(tmp / "none.npz")], ["does not exist"]),
        (lambda tmp: ["--data", "nope"], ["data='nope'", "mnist1d"]),
    ],
)
def test_malformed_data_is_one_line_and_exit_2(tmp_path, capsys, make, needles):
    argv = ["search", *make(tmp_path), "--epochs", "1", "--out", str(tmp_path / "o"), *TINY]
    if not needles:
        argv += ["--layout", "NCWH"]
        needles = ["layout='NCWH' is not one of auto, tabular"]
    if "GiB" in needles:
        argv += ["--max-data-gb", "0.001"]
    _one_line_error(capsys, argv, *needles)
    assert not (tmp_path / "o" / "architecture.json").exists()


def test_export_refusals_and_bad_input(image_runs, tmp_path, capsys):
    tmp = image_runs[0]
    search = tmp / "search"
    _one_line_error(capsys, ["export", str(search)], "is a search run", "dnas retrain --arch")
    _one_line_error(capsys, ["export", str(search / "architecture.json")],
                    "an architecture alone has no trained weights", "--weights")
    _one_line_error(capsys, ["export", str(search), "--weights",
                             str(search / "checkpoints" / "last.pt")],
                    "holds a search network (architecture parameters α)")
    _one_line_error(capsys, ["export", str(tmp_path)], "neither a retrain run folder")
    # weights copied away from their run folder: the input shape must be given
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "model.pt").write_bytes((tmp / "retrain" / "model.pt").read_bytes())
    argv = ["export", str(search / "architecture.json"), "--weights", str(tmp_path / "w" /
                                                                          "model.pt")]
    _one_line_error(capsys, argv, "no input shape is recorded", "--input-shape C,H,W")
    _one_line_error(capsys, [*argv, "--input-shape", "1,8,8"], "does not fit this 2-D network "
                    "of 3 input channel(s)")
    out = run(capsys, [*argv, "--input-shape", "3,12,12", "--out", str(tmp_path / "m.pt")])
    assert "input (batch, 3, 12, 12)" in out and (tmp_path / "m.pt").is_file()
    # another architecture than the weights were trained for
    _one_line_error(capsys, ["export", "DARTS_V2", "--weights", str(tmp / "retrain" / "model.pt")],
                    "do not fit the architecture")


@pytest.mark.skipif(not has_tensorboard, reason="needs tensorboard")
def test_missing_tensorboard_is_one_line(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    _one_line_error(capsys, ["search", "--data", "digits", "--n-train", "16", "--epochs", "1",
                             "--tensorboard", "--out", str(tmp_path / "o"), *TINY],
                    "--tensorboard: TensorBoard logging needs the tensorboard package",
                    "pip install 'dnas[tensorboard]'")
