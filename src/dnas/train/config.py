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
        for name, low in (("epochs", 0), ("batch_size", 1), ("eval_batch_size", 1),
                          ("crop_padding", 0), ("cutout", 0), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}={value!r} must be an integer >= {low}")
        for name in ("lr", "lr_min", "momentum", "weight_decay", "auxiliary_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name}={value!r} must be a number >= 0")
        if not (isinstance(self.drop_path_prob, (int, float)) and 0 <= self.drop_path_prob < 1):
            raise ValueError(f"drop_path_prob={self.drop_path_prob!r} must be in [0, 1)")
        if self.grad_clip is not None and not (
            isinstance(self.grad_clip, (int, float)) and self.grad_clip > 0
        ):
            raise ValueError(f"grad_clip={self.grad_clip!r} must be > 0 or None")
        if self.amp not in AMP_CHOICES:
            raise ValueError(f"amp={self.amp!r} is not one of {AMP_CHOICES}")
        if not isinstance(self.device, str):
            raise ValueError(f"device={self.device!r} must be a string such as 'auto' or 'cpu'")

    def replace(self, **changes: Any) -> RetrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
