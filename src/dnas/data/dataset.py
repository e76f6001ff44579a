"""The in-memory dataset every loader returns: train/test tensors and what a network needs to know.

A frozen dataclass holding four tensors (float32 inputs shaped ``(N, C, L)`` or ``(N, C, H, W)``,
int64 labels) and the facts a search space is built from (``in_channels``, ``dim``,
``num_classes``). Checked once on construction, so every consumer can trust the shapes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled train/test pair of tensors.

    Attributes
    ----------
    X_train, X_test : torch.Tensor
        Float32 inputs, ``(N, in_channels, L)`` when ``dim == 1`` or
        ``(N, in_channels, H, W)`` when ``dim == 2``.
    y_train, y_test : torch.Tensor
        Int64 labels in ``[0, num_classes)``, one per input row.
    num_classes : int
        Number of classes.
    in_channels : int
        Channels of one input (dimension 1 of ``X_*``).
    dim : int
        Spatial dimensions of one input: 1 (sequences) or 2 (images).
    name : str
        The name it was loaded under (``"mnist1d"``, ``"digits"``, ``"cifar10"``, ``"synthetic"``).
    class_names : tuple of str
        Human-readable class names where the source has them, else ``()``.
    description : str
        How the data were read, for a person (a user's file: what was inferred from what).
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    in_channels: int
    dim: int
    name: str
    class_names: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ValueError(f"Dataset {self.name!r}: dim={self.dim!r}, expected 1 or 2")
        for split in ("train", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if not (isinstance(X, torch.Tensor) and isinstance(y, torch.Tensor)):
                raise TypeError(f"Dataset {self.name!r}: X_{split} and y_{split} must be tensors")
            if X.dtype != torch.float32 or y.dtype != torch.int64:
                raise TypeError(
                    f"Dataset {self.name!r}: X_{split} must be float32 and y_{split} int64, "
                    f"got {X.dtype} and {y.dtype}"
                )
            if X.dim() != self.dim + 2 or X.shape[1] != self.in_channels:
                raise ValueError(
                    f"Dataset {self.name!r}: X_{split} has shape {tuple(X.shape)}, expected "
                    f"(N, {self.in_channels}, ...) with {self.dim} spatial dimension(s)"
                )
            if y.shape != (X.shape[0],):
                raise ValueError(
                    f"Dataset {self.name!r}: y_{split} has shape {tuple(y.shape)}, expected "
                    f"({X.shape[0]},)"
                )
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(
                    f"Dataset {self.name!r}: y_{split} has labels outside [0, {self.num_classes})"
                )
        if self.X_train.shape[1:] != self.X_test.shape[1:]:
            raise ValueError(
                f"Dataset {self.name!r}: train inputs {tuple(self.X_train.shape[1:])} and test "
                f"inputs {tuple(self.X_test.shape[1:])} differ in shape"
            )

    @property
    def kind(self) -> str:
        """``"image"`` (``dim == 2``), ``"sequence"``, or ``"tabular"`` (features as channels of
        length 1, see :mod:`dnas.data.layout`)."""
        if self.dim == 2:
            return "image"
        return "tabular" if self.X_train.shape[2] == 1 else "sequence"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, ``(C, L)`` or ``(C, H, W)``."""
        return tuple(self.X_train.shape[1:])

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with its four tensors on ``device`` (a new object)."""
        return dataclasses.replace(
            self,
            X_train=self.X_train.to(device),
            y_train=self.y_train.to(device),
            X_test=self.X_test.to(device),
            y_test=self.y_test.to(device),
        )

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={tuple(self.X_train.shape)}, "
            f"test={tuple(self.X_test.shape)}, num_classes={self.num_classes}, "
            f"device={self.X_train.device})"
        )
