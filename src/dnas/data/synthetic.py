"""Synthetic CIFAR-shaped data for throughput benchmarks and smoke tests.

Each class has a fixed random prototype; an input is its class prototype plus unit Gaussian noise,
``x = 0.5 · p_y + ε``. Random enough to cost exactly what real data costs, learnable enough that
a working training loop beats chance. Everything comes from one ``torch.Generator`` seeded by
``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dnas.data.dataset import Dataset
from dnas.runtime.checks import check_int


def load_synthetic(
    *,
    seed: int = 0,
    n: int = 1024,
    n_test: int | None = None,
    shape: Sequence[int] = (3, 32, 32),
    classes: int = 10,
) -> Dataset:
    """Random class-prototype data shaped like CIFAR-10 (by default).

    Parameters
    ----------
    seed : int
        Seeds the generator that draws prototypes, labels and noise.
    n : int
        Training samples.
    n_test : int, optional
        Test samples (default ``max(1, n // 4)``).
    shape : sequence of int
        One input's shape: ``(C, H, W)`` for images (``dim=2``) or ``(C, L)`` (``dim=1``).
    classes : int
        Number of classes (at least 2).

    Returns
    -------
    Dataset
        Float32 inputs of ``shape``, int64 labels uniform over the classes.
    """
    n = check_int("n", n, 1)
    n_test = max(1, n // 4) if n_test is None else check_int("n_test", n_test, 1)
    shape = tuple(shape)
    if len(shape) not in (2, 3) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise ValueError(f"shape must be (C, L) or (C, H, W) positive integers, got {shape!r}")
    check_int("classes", classes, 2)
    gen = torch.Generator().manual_seed(seed)
    prototypes = torch.randn((classes, *shape), generator=gen)

    def draw(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, classes, (count,), generator=gen)
        x = 0.5 * prototypes[y] + torch.randn((count, *shape), generator=gen)
        return x, y

    X_train, y_train = draw(n)
    X_test, y_test = draw(n_test)
    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        num_classes=classes,
        in_channels=shape[0],
        dim=len(shape) - 1,
        name="synthetic",
    )
