"""Retraining configuration: the DARTS evaluation recipe as one frozen dataclass.

Defaults follow DARTS (Liu et al., 2019, section A.1.2 / the official ``train.py``): SGD with
momentum 0.9, learning rate 0.025 annealed to 0 by cosine, weight decay 3e-4, 600 epochs, batch 96,
cutout 16, drop path 0.2 ramped linearly over training, auxiliary tower weight 0.4, gradient norm
clipped at 5. Every number scales down for quick runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dnas.runtime.checks import (
    FLOAT32_MAX,
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from dnas.train.accel import AMP_CHOICES


@dataclass(frozen=True)
class RetrainConfig:
    """Everything :func:`dnas.train.retrain` needs besides the model and the data.

    Attributes
    ----------
    epochs, batch_size : int
        Passes over the training set, and its batch size (the last incomplete batch is dropped).
    lr, lr_min, momentum, weight_decay : float
        SGD and its cosine schedule (per epoch, from ``lr`` to ``lr_min``).
    grad_clip : float or None
        Gradient-norm clip (None: off).
    drop_path_prob : float
        Final drop-path probability; epoch ``e`` of ``E`` uses ``drop_path_prob · e / E``.
    auxiliary_weight : float
        Weight of the auxiliary head's loss (used when the model returns ``(logits, aux)``).
    crop_padding, flip, cutout
        Augmentation of training batches on the device (random crop/shift with this padding,
        horizontal flip, cutout square/segment of this size; 0 / False: off).
    eval_batch_size : int
        Batch size of evaluation passes.
    seed : int
        Seeds data order, augmentation and (restored afterwards) the global RNG (drop path).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    amp : {"auto", "bf16", "off"}
        bf16 autocast; ``"auto"``: on for CUDA devices that support bf16, off elsewhere.
    channels_last : bool
        Store 2-D activations channels-last (faster convolutions on tensor-core GPUs).
    compile : bool
        ``torch.compile`` the model's forward.
    progress : bool or None
        Progress bar; ``None``: only when stderr is a terminal.
    """

    epochs: int = 600
    batch_size: int = 96
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    drop_path_prob: float = 0.2
    auxiliary_weight: float = 0.4
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 16
    eval_batch_size: int = 256
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool = False
    compile: bool = False
    progress: bool | None = None

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 1), ("eval_batch_size", 1),
                          ("crop_padding", 0), ("cutout", 0)):
            check_int(name, getattr(self, name), low)
        check_seed("seed", self.seed)
        for name in ("epochs", "batch_size", "eval_batch_size", "crop_padding", "cutout", "seed"):
            object.__setattr__(self, name, int(getattr(self, name)))  # NumPy ints as ints
        # float32 arithmetic: beyond FLOAT32_MAX a rate or decay is inf at the first step
        for name in ("lr", "lr_min", "weight_decay", "auxiliary_weight"):
            check_float(name, getattr(self, name), 0, FLOAT32_MAX)
        check_float("momentum", self.momentum, 0, 1)  # above 1 the velocity grows geometrically
        check_float("drop_path_prob", self.drop_path_prob, 0, 1, high_open=True)
        check_float("grad_clip", self.grad_clip, 0, FLOAT32_MAX, low_open=True, none_ok=True)
        check_choice("amp", self.amp, AMP_CHOICES)
        for name in ("flip", "channels_last", "compile"):
            check_bool(name, getattr(self, name))
        if self.progress is not None:
            check_bool("progress", self.progress)
        if not isinstance(self.device, str):
            raise ParameterError(
                f"device={self.device!r} must be a string such as 'auto', 'cpu' or 'cuda:0'"
            )

    def replace(self, **changes: Any) -> RetrainConfig:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as a run folder's ``config.yaml`` holds it."""
        return dataclasses.asdict(self)
