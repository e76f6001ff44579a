"""From your own data to a deployable file: load a folder of images (or a CSV, an .npz...), search
a DARTS cell on it, retrain the found cell, watch both in TensorBoard, export the model to ONNX
checked against PyTorch. The Python API behind ``dnas search --data PATH``, ``dnas retrain`` and
``dnas export``.

    python examples/own_data_to_onnx.py                  # a made-up folder: ~5 CPU-minutes
    python examples/own_data_to_onnx.py photos/ 32       # your folder, images resized to 32x32
    tensorboard --logdir runs/own-data                   # the curves, α and the cells

Needs the extras: pip install 'dnas[tensorboard,onnx]'.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import dnas
from dnas.data import load, search_split
from dnas.spaces.darts import eval_network, search_network, to_genotype
from dnas.train import retrain


def made_up_folder(root: Path, per_class: int = 24) -> Path:
    """Three classes of 16x16 pictures: horizontal bars, vertical bars, a square."""
    rng = np.random.default_rng(0)
    for name in ("rows", "columns", "square"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 80, (16, 16, 3)).astype(np.uint8)
            if name == "rows":
                pixels[::4] += 150
            elif name == "columns":
                pixels[:, ::4] += 150
            else:
                pixels[4:12, 4:12] += 150
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")
    return root


def main(source: str | None = None, image_size: int | None = None,
         out: Path = Path("runs/own-data")) -> float:
    folder = source or made_up_folder(out / "images")
    data = load(folder, image_size=image_size)  # what was inferred: data.description
    print(data.description)
    torch.manual_seed(0)

    # 1. search on the training part only (w on one half, α on the other)
    train, valid = search_split(data.X_train, data.y_train, fraction=0.5, seed=0)
    net = search_network(C=8, layers=4, num_classes=data.num_classes, dim=data.dim,
                         in_channels=data.in_channels)
    with dnas.TensorBoard(out / "tensorboard" / "search") as board:
        result = dnas.search(net, train, valid, epochs=5, batch_size=16, arch_lr=3e-3, seed=0,
                             callbacks=[board])
    genotype = to_genotype(result.architecture)
    for cell in ("normal", "reduce"):
        print(f"found {cell} cell:", ", ".join(f"{op}<-{j}" for op, j in genotype[cell]))

    # 2. retrain the found cell from scratch, test on the held-out part
    model = eval_network(result.architecture, C=16, layers=6, num_classes=data.num_classes,
                         auxiliary=False, dim=data.dim, in_channels=data.in_channels)
    with dnas.TensorBoard(out / "tensorboard" / "retrain") as board:
        trained = retrain(model, (data.X_train, data.y_train), (data.X_test, data.y_test),
                          epochs=10, batch_size=16, cutout=0, crop_padding=0, flip=False,
                          callbacks=[board])
    print(f"test accuracy: {trained.test_accuracy:.3f}")

    # 3. export, checked against PyTorch before it is written
    report = dnas.export(model, out / "model.onnx", example_input=data.X_test[:4],
                         metadata={"class_names": list(data.class_names)})
    print(f"{report.path}: input {report.input_shape}, max abs diff {report.max_abs_diff:.2g}")
    onnx_model = dnas.deploy.load_exported(report.path)
    predicted = onnx_model(data.X_test).argmax(1)
    print("ONNX predictions agree with the labels on "
          f"{float((predicted == data.y_test).float().mean()):.3f} of the test set")
    return trained.test_accuracy


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None,
         int(sys.argv[2]) if len(sys.argv) > 2 else None)
