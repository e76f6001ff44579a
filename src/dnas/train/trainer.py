"""Retraining a discrete architecture from scratch (the DARTS evaluation recipe).

    loss = CE(logits, y) + auxiliary_weight · CE(aux_logits, y)    (auxiliary tower, training only)
    drop-path probability at epoch e of E:  drop_path_prob · e / E
    SGD(momentum 0.9, weight decay 3e-4), learning rate cosine-annealed per epoch, ‖∇‖ clipped

Batches come from a persistent, seeded stream; augmentation runs on the device with its own
generator; the loop's whole state (weights, optimiser, schedule, RNGs, stream position) is a
``state_dict``, so a run can be checkpointed (:class:`dnas.runtime.Checkpoint`, as for a search)
and resumed. Metrics stay on the device until the epoch ends: one host sync per epoch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dnas.bilevel.first_batch import checked_forward, weight_dtype
from dnas.runtime.batches import TensorBatches
from dnas.runtime.callbacks import Callback
from dnas.runtime.device import resolve_device
from dnas.runtime.loop import LoopState
from dnas.runtime.progress import progress_bar
from dnas.runtime.rng import generator, global_rng, global_rng_state
from dnas.train.accel import autocast, compile_forward, resolve_amp, to_channels_last
from dnas.train.config import RetrainConfig
from dnas.train.data import checked_sets
from dnas.train.guard import retrain_guard

Augment = Callable[..., torch.Tensor]


@dataclass
class RetrainResult:
    """What :func:`retrain` returns.

    Attributes
    ----------
    model : nn.Module
        The trained model.
    history : list of dict
        One row per epoch: ``epoch``, ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``,
        ``lr``, ``drop_path_prob``, ``seconds``.
    test_accuracy, test_loss : float
        After the last epoch.
    """

    model: nn.Module
    history: list[dict[str, Any]]
    test_accuracy: float
    test_loss: float


class Trainer(LoopState):
    """The state and loop of one retraining run. :func:`retrain` is the usual front door.

    Parameters
    ----------
    model : nn.Module
        Returns logits, or ``(logits, aux_logits)`` in training mode; may have a settable
        ``drop_path_prob`` attribute.
    train, test : (X, y) tensors
        Training and test sets (moved to the device once).
    config : RetrainConfig
    augment : callable, optional
        ``augment(x, generator=g) -> x`` applied to each training batch on the device.
    callbacks : sequence of Callback
        Objects with ``on_step_end(trainer)`` / ``on_epoch_end(trainer)`` (e.g.
        :class:`dnas.runtime.Checkpoint`).
    dim : {1, 2}
        Spatial dimensions of the inputs (channels-last applies to 2-D only).

    Attributes
    ----------
    meters : dnas.runtime.Meters
        The epoch's running training loss and accuracy (split ``"train"``).
    """

    def __init__(
        self,
        model: nn.Module,
        train: tuple[torch.Tensor, torch.Tensor],
        test: tuple[torch.Tensor, torch.Tensor],
        config: RetrainConfig,
        *,
        augment: Augment | None = None,
        callbacks: Sequence[Callback] = (),
        dim: int = 2,
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.amp_dtype = resolve_amp(config.amp, self.device)
        self.model = model.to(self.device)
        if config.channels_last:
            to_channels_last(self.model, dim)
        if config.compile:
            compile_forward(self.model)
        self.augment = augment
        self._init_state(("train",), self.device, callbacks, retrain_guard(config))
        train, test = checked_sets(train, test)
        X, y = (t.to(self.device) for t in train)
        self.test = tuple(t.to(self.device) for t in test)
        dtype = weight_dtype(self.model)
        if dtype is not None and X.is_floating_point() and X.dtype != dtype:
            X = X.to(dtype)  # as a search does (dnas.bilevel.first_batch.input_dtype)
            self.test = (self.test[0].to(dtype), self.test[1])
        self.train = TensorBatches(X, y, config.batch_size, generator(config.seed))
        self.steps_per_epoch = len(self.train)
        self.aug_generator = generator(config.seed + 1, self.device)
        # drop path draws from its own generator when the model takes one (the DARTS network
        # does), else from the global RNG, which run() seeds and checkpoints save
        self.drop_generator = generator(config.seed + 2, self.device)
        if hasattr(self.model, "generator"):
            setattr(self.model, "generator", self.drop_generator)  # noqa: B010 (not a Tensor)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=config.lr, momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=max(config.epochs, 1), eta_min=config.lr_min
        )

    def drop_path_prob(self) -> float:
        """This epoch's drop-path probability (linear ramp from 0)."""
        return self.config.drop_path_prob * self.epoch / max(self.config.epochs, 1)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One SGD step on a batch (augmented here when an augmentation is set)."""
        cfg = self.config
        if self.augment is not None:
            x = self.augment(x, generator=self.aug_generator)
        if cfg.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.amp_dtype):
            if self.epoch == 0 and self.step == 0:  # the first batch: one clear error
                out, loss = checked_forward(self.model, self._loss, x, y)
            else:
                out = self.model(x)
                loss = self._loss(out, y)
        self.guard.watch("training loss", loss)
        loss.backward()
        if cfg.grad_clip is not None:  # clipping computes the norm anyway
            norm = nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        else:
            norm = nn.utils.get_total_norm(
                [p.grad for p in self.model.parameters() if p.grad is not None])
        self.guard.watch("gradient norm", norm)
        self.optimizer.step()
        self.meters["train"].update(loss, out[0] if isinstance(out, (tuple, list)) else out, y)

    def _loss(self, out: Any, y: torch.Tensor) -> torch.Tensor:
        logits, aux = out if isinstance(out, (tuple, list)) else (out, None)
        loss = F.cross_entropy(logits, y)
        if aux is not None and self.config.auxiliary_weight:
            loss = loss + self.config.auxiliary_weight * F.cross_entropy(aux, y)
        return loss

    @torch.no_grad()
    def evaluate(
        self, X: torch.Tensor | None = None, y: torch.Tensor | None = None
    ) -> tuple[float, float]:
        """``(loss, accuracy)`` on ``(X, y)`` (default: the test set), in evaluation mode."""
        if X is None or y is None:
            X, y = self.test
        was_training = self.model.training
        self.model.eval()
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.float64)
        try:
            for i in range(0, X.shape[0], self.config.eval_batch_size):
                xb = X[i : i + self.config.eval_batch_size].to(self.device, non_blocking=True)
                yb = y[i : i + self.config.eval_batch_size].to(self.device, non_blocking=True)
                if self.config.channels_last and xb.dim() == 4:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                with autocast(self.device, self.amp_dtype):
                    out = self.model(xb)
                logits = out[0] if isinstance(out, (tuple, list)) else out
                if i == 0 and int(y.max()) >= logits.shape[-1]:  # once per evaluation
                    raise ValueError(f"the test targets hold class {int(y.max())}, but the model "
                                     f"outputs {logits.shape[-1]} classes")
                total += F.cross_entropy(logits.float(), yb, reduction="sum").double()
                correct += (logits.argmax(1) == yb).sum()
        finally:
            self.model.train(was_training)
        n = max(X.shape[0], 1)
        return float(total) / n, float(correct) / n

    def run(self) -> RetrainResult:
        """Train (or continue) to ``config.epochs``; evaluates on the test set after each epoch."""
        cfg = self.config
        # seeded for models that draw from the global RNG; a resumed run's state is set after
        resumed, self.resume_rng = self.resume_rng, None
        with global_rng(self.device, cfg.seed + 3, resumed), progress_bar(
            cfg.epochs * self.steps_per_epoch,
            initial=self.epoch * self.steps_per_epoch + self.step,
            desc="retrain", show=cfg.progress,
        ) as bar:
            self.model.train()
            while self.epoch < cfg.epochs:
                if hasattr(self.model, "drop_path_prob"):
                    setattr(self.model, "drop_path_prob", self.drop_path_prob())  # noqa: B010
                while self.step < self.steps_per_epoch:
                    self.train_step(*self.train.next())
                    self._end_step(bar)
                self._end_epoch(bar)
        if self.history:
            test_loss, test_acc = self.history[-1]["test_loss"], self.history[-1]["test_acc"]
        else:  # zero epochs: the untrained model
            test_loss, test_acc = self.evaluate()
        return RetrainResult(self.model, self.history, test_acc, test_loss)

    def _end_epoch(self, bar: Any) -> None:
        m = self.meters.summary()  # the epoch's one host sync
        test_loss, test_acc = self.evaluate()
        self.guard.watch("test loss", test_loss)
        self.guard.check(epoch=self.epoch, step=self.step - 1)
        row = {
            "epoch": self.epoch + 1,
            "train_loss": m["train_loss"],
            "train_acc": m["train_acc"],
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": self.optimizer.param_groups[0]["lr"],
            "drop_path_prob": self.drop_path_prob(),
            "seconds": self.epoch_seconds(),
        }
        self._finish_epoch(row, self.scheduler, bar, loss=f"{row['train_loss']:.4g}",
                           test=f"{test_acc:.4f}")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            **self._progress_state(),
            "train_stream": self.train.state_dict(),
            "aug_generator": self.aug_generator.get_state(),
            "drop_generator": self.drop_generator.get_state(),
            **global_rng_state(self.device),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (the global RNG is applied when :meth:`run` starts),
        once it is known to fit (:func:`dnas.runtime.resume.check_resume`)."""
        self._check_resume(state, ("batch_size",))  # stream positions count batches
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self._load_progress(state)
        self.train.load_state_dict(state["train_stream"])
        self.aug_generator.set_state(state["aug_generator"])
        self.drop_generator.set_state(state["drop_generator"])


def retrain(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    config: RetrainConfig | None = None,
    *,
    augment: Augment | None = None,
    callbacks: Sequence[Callback] = (),
    dim: int = 2,
    **options: Any,
) -> RetrainResult:
    """Train ``model`` from scratch on ``train`` and report accuracy on ``test``.

    Parameters
    ----------
    model : nn.Module
        E.g. ``dnas.spaces.darts.eval_network(architecture)``.
    train, test : (X, y) tensors
    config : RetrainConfig, optional
        Default: the DARTS recipe, with ``options`` (any :class:`RetrainConfig` field) applied.
    augment : callable, optional
        ``augment(x, generator=g)`` for training batches (e.g. ``dnas.data.Augment``).
    callbacks : sequence
        ``on_step_end`` / ``on_epoch_end`` hooks.
    dim : {1, 2}

    Returns
    -------
    RetrainResult
    """
    config = config or RetrainConfig()
    if options:
        known = {f.name for f in dataclasses.fields(RetrainConfig)}
        bad = sorted(set(options) - known)
        if bad:
            raise ValueError(f"unknown retrain option(s) {bad}; valid options: {sorted(known)}")
        config = config.replace(**options)
    return Trainer(model, train, test, config, augment=augment, callbacks=callbacks, dim=dim).run()
