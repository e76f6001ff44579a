"""How one row of a tabular benchmark is made: train an architecture with a fixed recipe.

NAS-Bench-201 trains every cell with one recipe and records its accuracy (Dong & Yang, 2020,
section 2.3: SGD with Nesterov momentum 0.9, learning rate 0.1 annealed by cosine, weight decay
5e-4, batch 256). :class:`Recipe` is that recipe scaled to a small data set; :func:`train_row`
builds the fixed network of an architecture (initial weights from the seed alone, dead edges not
built), trains it on the training part, and measures the validation and test parts, the parameter
count, the forward FLOPs per sample and the training time. A user builds a table for their own
data by calling it for every cell of :func:`dnas.spaces.nb201.unique_cells`
(``benchmarks/tabular_build.py`` does it with worker processes and resume).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnas.data.dataset import Dataset
from dnas.data.split import search_split
from dnas.spaces.nb201.equivalence import live_edges
from dnas.spaces.nb201.network import fixed_network
from dnas.spaces.nb201.structure import to_ops, to_string


@dataclass(frozen=True)
class Recipe:
    """The fixed training recipe of a table (defaults: the shipped MNIST-1D table).

    Attributes
    ----------
    C, N : int
        Channels of the first stage and cells per stage of the NAS-Bench-201 network.
    epochs, batch_size : int
        Training length (the last incomplete batch of an epoch is dropped).
    lr, momentum, weight_decay : float
        SGD with Nesterov momentum; the learning rate follows a cosine from ``lr`` to 0 over
        the training steps.
    train_size : int
        Samples of the data set's training part the network trains on (a seeded draw, the same
        for every row); the rest of the training part is the validation split.
    split_seed : int
        Seed of the train/validation cut.
    data : str
        Data set name for :func:`dnas.data.load`.
    data_options : dict
        Its options. The shipped table: MNIST-1D generated with 10,000 samples (8,000 + 2,000;
        the network trains on 2,000, the other 6,000 are the validation split) with more i.i.d.
        noise (0.05) and correlated noise (0.35) than the default: on the default data the cells
        bunch within about a point of each other at 97-98.5%.

    The shipped table's choices (C=8, 2,000 training samples, 20 epochs of batch 128) keep a row
    at a few seconds of one CPU core; ``benchmarks/results/tabular.md`` gives the numbers behind
    them (spread, seed noise, rank correlations).
    """

    C: int = 8
    N: int = 3
    epochs: int = 20
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    train_size: int = 2000
    split_seed: int = 0
    data: str = "mnist1d"
    data_options: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"num_samples": 10000, "iid_noise_scale": 0.05,
                                 "corr_noise_scale": 0.35}
    )

    def __post_init__(self) -> None:
        for name in ("C", "N", "epochs", "batch_size", "train_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        for name in ("lr", "momentum", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name}={value!r} must be a number >= 0")
        if not isinstance(self.data_options, dict):
            raise ValueError(f"data_options={self.data_options!r} must be a dict")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_data(self) -> Dataset:
        """The recipe's data set (``dnas.data.load(self.data, **self.data_options)``)."""
        from dnas.data.loaders import load

        return load(self.data, **self.data_options)

    def splits(self, data: Dataset) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """``{"train", "valid", "test"}`` parts of ``data`` under this recipe."""
        n = data.X_train.shape[0]
        if not self.train_size < n:
            raise ValueError(
                f"train_size={self.train_size} leaves no validation split of the {n} training "
                "samples"
            )
        train, valid = search_split(
            data.X_train, data.y_train, fraction=self.train_size / n, seed=self.split_seed
        )
        return {"train": train, "valid": valid, "test": (data.X_test, data.y_test)}


def forward_flops(model: nn.Module, example: torch.Tensor) -> int:
    """FLOPs of one forward pass of ``example`` (counted by ``torch.utils.flop_counter``)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(example)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, X.shape[0], 1000):
        logits = model(X[i : i + 1000])
        loss += float(F.cross_entropy(logits, y[i : i + 1000], reduction="sum"))
        correct += int((logits.argmax(1) == y[i : i + 1000]).sum())
    n = max(X.shape[0], 1)
    return loss / n, correct / n


def train_row(
    architecture: Any,
    recipe: Recipe,
    data: Dataset,
    seed: int = 0,
    *,
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> dict[str, Any]:
    """Train one architecture with ``recipe`` and return its table row.

    Parameters
    ----------
    architecture : Architecture, NAS-Bench-201 string or six operations
    recipe : Recipe
    data : Dataset
        Its training part is cut into train/validation by the recipe; its test part is the test
        split.
    seed : int
        Seeds the initial weights (layer by layer) and the batch order.
    splits : dict, optional
        ``recipe.splits(data)`` computed once by the caller (saves the cut per row).

    Returns
    -------
    dict
        ``arch`` (NAS-Bench-201 string), ``seed``, ``epochs``, ``valid_acc``, ``valid_loss``,
        ``test_acc``, ``test_loss``, ``train_acc``, ``train_loss`` (last epoch, running),
        ``params``, ``flops`` (forward, one sample), ``live_edges``, ``seconds`` (wall) and
        ``cpu_seconds`` of the training.
    """
    ops = tuple(architecture) if isinstance(architecture, (tuple, list)) else to_ops(architecture)
    splits = splits or recipe.splits(data)
    Xt, yt = splits["train"]
    model = fixed_network(
        ops, C=recipe.C, N=recipe.N, num_classes=data.num_classes, dim=data.dim,
        in_channels=data.in_channels, seed=seed,
    )
    params = sum(p.numel() for p in model.parameters())
    flops = forward_flops(model, Xt[:1])
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.momentum > 0,
        weight_decay=recipe.weight_decay,
    )
    n = Xt.shape[0]
    per_epoch = max(n // recipe.batch_size, 1)
    total = per_epoch * recipe.epochs
    order = torch.Generator().manual_seed(seed)
    wall, cpu = time.perf_counter(), time.process_time()
    step, loss_sum, correct, seen = 0, 0.0, 0, 0
    model.train()
    for _ in range(recipe.epochs):
        perm = torch.randperm(n, generator=order)
        loss_sum, correct, seen = 0.0, 0, 0
        for b in range(per_epoch):
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * recipe.lr * (1 + math.cos(math.pi * step / total))
            idx = perm[b * recipe.batch_size : (b + 1) * recipe.batch_size]
            logits = model(Xt[idx])
            loss = F.cross_entropy(logits, yt[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += float(loss.detach()) * idx.numel()
            correct += int((logits.detach().argmax(1) == yt[idx]).sum())
            seen += idx.numel()
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    valid_loss, valid_acc = _evaluate(model, *splits["valid"])
    test_loss, test_acc = _evaluate(model, *splits["test"])
    return {
        "arch": to_string(ops),
        "seed": seed,
        "epochs": recipe.epochs,
        "valid_acc": valid_acc,
        "valid_loss": valid_loss,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "train_acc": correct / max(seen, 1),
        "train_loss": loss_sum / max(seen, 1),
        "params": params,
        "flops": flops,
        "live_edges": sum(live_edges(ops)),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
    }


__all__ = ["Recipe", "forward_flops", "train_row"]
