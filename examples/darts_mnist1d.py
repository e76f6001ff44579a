"""Search a 1-D DARTS cell on MNIST-1D, then retrain it: the Python API behind ``dnas search`` and
``dnas retrain`` (the command line adds config files, plots and the run folder).

    python examples/darts_mnist1d.py                 # 10 search + 10 retrain epochs, CPU friendly
    python examples/darts_mnist1d.py 2 1             # a quick look

Run it again after interrupting it: the search continues from its last checkpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

import dnas
from dnas.bilevel import SearchConfig, Searcher
from dnas.data import Augment, load, search_split
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint
from dnas.spaces.darts import eval_network, search_network
from dnas.train import RetrainConfig, retrain


def main(search_epochs: int = 10, retrain_epochs: int = 10, out: str = "runs/example") -> float:
    torch.manual_seed(0)  # initial weights
    data = load("mnist1d")  # generated offline, cached
    train, valid = search_split(data.X_train, data.y_train, fraction=0.5, seed=0)

    # 1. search: w on one half, α on the other (first-order DARTS)
    net = search_network(C=8, layers=5, num_classes=data.num_classes, dim=data.dim,
                         in_channels=data.in_channels)
    checkpoint = Checkpoint(Path(out) / "checkpoints", every_steps=20)
    searcher = Searcher(net, train, valid, SearchConfig(epochs=search_epochs, batch_size=64),
                        callbacks=[checkpoint])
    if checkpoint.path.exists():
        searcher.load_state_dict(load_checkpoint(checkpoint.path))
    result = searcher.run()
    print(dnas.summary(result.model))
    result.architecture.save(Path(out) / "architecture.json")

    # 2. retrain the derived cell from scratch (shifts as augmentation; no flips for signals)
    model = eval_network(result.architecture, C=16, layers=8, num_classes=data.num_classes,
                         dim=data.dim, in_channels=data.in_channels)
    config = RetrainConfig(epochs=retrain_epochs, batch_size=64, cutout=0, flip=False)
    trained = retrain(model, (data.X_train, data.y_train), (data.X_test, data.y_test), config,
                      augment=Augment(crop_padding=4, dim=data.dim), dim=data.dim)
    print(f"test accuracy: {trained.test_accuracy:.4f}")
    return trained.test_accuracy


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
