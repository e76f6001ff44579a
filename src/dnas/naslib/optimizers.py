"""NASLib's step-level optimiser interface over dnas' search engine.

NASLib (Ruchte et al., 2020; the "seed" interface of its one-shot optimisers) lets a researcher run
a differentiable NAS method inside their own training loop::

    optimizer = DARTSOptimizer(learning_rate=0.025, epochs=50)
    optimizer.adapt_search_space(model)                 # any dnas model (LayerChoice/InputChoice)
    for epoch in range(50):
        optimizer.new_epoch(epoch)
        for data_train, data_val in zip(train_loader, valid_loader):
            logits_train, logits_val, loss_train, loss_val = optimizer.step(data_train, data_val)
    architecture = optimizer.get_final_architecture()  # a dnas.Architecture

Each step is exactly one step of :func:`dnas.search` (an α step on ``data_val``, then a weight
step on ``data_train``; first or second order; the relaxation's samples drawn from the same seeded
generator), so the same batches give the same α bit for bit. ``new_epoch`` does what the search
loop does at an epoch boundary (the weights' cosine schedule, the relaxation's and the robust
method's progress).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.bilevel.config import SearchConfig
from dnas.bilevel.first_batch import as_dtype, check_class_targets
from dnas.bilevel.guard import search_guard
from dnas.runtime.batches import tensor_pair
from dnas.runtime.checks import check_bool, check_int
from dnas.runtime.finite import check_data

_LOSSES: dict[str, Callable[[], nn.Module]] = {
    "CrossEntropyLoss": nn.CrossEntropyLoss,
    "MSELoss": nn.MSELoss,
    "L1Loss": nn.L1Loss,
}


#: SearchConfig's names of the NASLib constructor's parameters (for the errors)
_NASLIB_NAMES = {"w_lr": "learning_rate", "w_momentum": "momentum",
                 "w_weight_decay": "weight_decay", "arch_lr": "arch_learning_rate"}
#: SearchConfig fields the constructor sets itself: as **options they would be overwritten
_SET_HERE = {"order": "unrolled", "grad_clip": "grad_clip", "arch_weight_decay":
             "arch_weight_decay", "epochs": "epochs", "arch_optimizer": "arch_optimizer",
             "seed": "seed", "steps_per_epoch": "step()'s batches", "batch_size":
             "step()'s batches"} | _NASLIB_NAMES
_ARCH_OPTIMIZERS: dict[Any, str] = {"Adam": "adam", "SGD": "sgd", torch.optim.Adam: "adam",
                                    torch.optim.SGD: "sgd"}
#: losses whose targets are class indices (or class probabilities of the output's shape)
_CLASS_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)
#: losses whose targets have the output's shape (torch would broadcast other shapes silently)
_SAME_SHAPE_LOSSES = (nn.MSELoss, nn.L1Loss)


def _one_of(name: str, value: Any, allowed: dict[Any, Any], shown: str) -> Any:
    """``allowed[value]``, or ValueError in check_choice's style (unhashable values too)."""
    for key, result in allowed.items():
        if value is key or (isinstance(value, str) and value == key):
            return result
    raise ValueError(f"{name}={value!r} must be one of {shown}")


#: the class that runs each method (to point a method= given to the wrong class at it)
_CLASS_OF = {"darts": "DARTSOptimizer", "drnas": "DrNASOptimizer", "gdas": "GDASOptimizer"}


class DARTSOptimizer:
    """DARTS (Liu et al., 2019) as a NASLib one-shot optimiser.

    Parameters
    ----------
    learning_rate, momentum, weight_decay : float
        SGD of the weights (cosine-annealed over ``epochs`` to 0.001, as DARTS does).
    grad_clip : float or None
        Gradient-norm clip of the weight step.
    unrolled : bool
        Second-order (unrolled) architecture gradient.
    arch_learning_rate, arch_weight_decay : float
        The architecture optimiser's learning rate and weight decay.
    epochs : int
        Length of the schedules (cosine, temperatures, robust methods).
    op_optimizer : {"SGD"}
        The weights' optimiser.
    arch_optimizer : {"Adam", "SGD"}
        The architecture's optimiser.
    loss_criteria : {"CrossEntropyLoss", "MSELoss", "L1Loss"} or callable
        The loss (a name from ``torch.nn`` or ``loss(output, target)``).
    seed : int or None
        Seeds the relaxation's samples (as ``dnas.search(seed=...)``).
    **options
        Any other :class:`dnas.SearchConfig` field (``robust="beta-darts"``,
        ``select="perturbation"``, ``method_options``...).
    """

    method = "darts"

    def __init__(
        self,
        learning_rate: float = 0.025,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip: float | None = 5,
        unrolled: bool = False,
        arch_learning_rate: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        epochs: int = 50,
        op_optimizer: str = "SGD",
        arch_optimizer: str = "Adam",
        loss_criteria: str | Callable[..., torch.Tensor] = "CrossEntropyLoss",
        seed: int | None = 0,
        **options: Any,
    ) -> None:
        cls = type(self).__name__
        if "method" in options:  # the class is the method (NASLib has one class per method)
            method = options.pop("method")
            if not (isinstance(method, str) and method == self.method):
                other = _CLASS_OF.get(method) if isinstance(method, str) else None
                use = (f"use {other}" if other else
                       f"for another method use dnas.search(method={method!r}) or a subclass "
                       f"of DARTSOptimizer with method = {method!r}")
                raise TypeError(f"method={method!r} cannot be given to {cls}, which runs "
                                f"{self.method!r}: {use}")
        clash = sorted(set(options) & set(_SET_HERE))
        if clash:
            field = clash[0]
            raise TypeError(f"{field}={options[field]!r} cannot be given to {cls}: it is set by "
                            f"{_SET_HERE[field]}")
        _one_of("op_optimizer", op_optimizer, {"SGD": "sgd", torch.optim.SGD: "sgd"},
                "'SGD' (or torch.optim.SGD): dnas trains the weights with SGD")
        arch_name = _one_of("arch_optimizer", arch_optimizer, _ARCH_OPTIMIZERS,
                            "'Adam', 'SGD' (or torch.optim.Adam, torch.optim.SGD)")
        if isinstance(loss_criteria, str):
            _one_of("loss_criteria", loss_criteria, dict.fromkeys(_LOSSES),
                    ", ".join(repr(k) for k in sorted(_LOSSES)) + " or a callable")
            self.loss: Callable[..., torch.Tensor] = _LOSSES[loss_criteria]()
        elif isinstance(loss_criteria, type) and issubclass(loss_criteria, nn.Module):
            self.loss = loss_criteria()  # a loss class (nn.CrossEntropyLoss): its instance
        elif callable(loss_criteria):
            self.loss = cast(Callable[..., torch.Tensor], loss_criteria)
        else:
            raise ValueError(
                f"loss_criteria={loss_criteria!r} must be one of "
                f"{', '.join(repr(k) for k in sorted(_LOSSES))} or a callable loss(output, target)"
            )
        check_bool("unrolled", unrolled)
        self.epochs = epochs
        preset = SearchConfig.for_method(self.method, **{
            k: v for k, v in options.items() if k != "method_options"
        }, method_options=options.get("method_options"))
        try:  # SearchConfig checks every value; its errors are given NASLib's names here
            self.config = preset.replace(
                order=2 if unrolled else 1, w_lr=learning_rate, w_momentum=momentum,
                w_weight_decay=weight_decay, grad_clip=grad_clip, arch_lr=arch_learning_rate,
                arch_weight_decay=arch_weight_decay, epochs=epochs,
                arch_optimizer=arch_name, seed=seed, progress=False,
            )
        except ValueError as err:
            message = str(err)
            for ours, theirs in _NASLIB_NAMES.items():
                if message.startswith(f"{ours}="):
                    raise type(err)(theirs + message[len(ours):]) from None
            raise
        self.model: nn.Module | None = None
        self.searcher: Any = None
        self.epoch = -1
        #: the model's output shape past the batch (known after the first step), for the targets
        self._out_shape: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ NASLib interface
    def adapt_search_space(self, search_space: nn.Module, dataset: Any = None,
                           scope: Any = None) -> None:
        """Take the model to search (any module with dnas choices). ``dataset`` and ``scope``
        are accepted for NASLib's signature; dnas needs neither."""
        if not isinstance(search_space, nn.Module):
            raise ValueError(
                f"search_space must be an nn.Module with dnas choices, got "
                f"{type(search_space).__name__}"
            )
        from dnas.space.binding import bind

        if not bind(search_space):
            raise ValueError("search_space has no LayerChoice or InputChoice: nothing to search")
        self.model = search_space
        self.searcher = None

    def new_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch`` (0-based): advance the schedules as the search loop does."""
        check_int("epoch", epoch, 0, self.config.epochs - 1)
        epoch = int(epoch)  # a NumPy integer too
        if self.searcher is not None and epoch < self.searcher.epoch:
            raise ValueError(f"epoch={epoch} must be >= {self.searcher.epoch}, the current "
                             "epoch: the schedules cannot go back")
        self.epoch = epoch
        if self.searcher is not None:
            self._start_epoch()

    def step(self, data_train: Any, data_val: Any) -> tuple[Any, Any, torch.Tensor, torch.Tensor]:
        """One α step on ``data_val`` and one weight step on ``data_train`` (each ``(x, y)``,
        tensors or NumPy arrays).

        Each batch is checked first (a pair of equal length, no NaN/inf, targets that fit the loss
        and the model's output), the first ones through the model as :func:`dnas.search` does;
        a NaN or infinity the step computes raises :class:`dnas.runtime.finite.NonFiniteError`.

        Returns
        -------
        (logits_train, logits_val, loss_train, loss_val)
            Detached.
        """
        if self.model is None:
            raise RuntimeError("call adapt_search_space(model) before step()")
        # as dnas.search checks its data: pairs of tensors (NumPy arrays converted) of equal
        # length, no NaN/inf (which would reach the weights before the guard could stop them).
        # Batches still on the host are checked there, before they move; a batch the caller
        # already put on a device is left to the pre-flight and the guard (checking it would
        # wait for the device at every step)
        batches = {name: tensor_pair(data, name)
                   for name, data in (("data_train", data_train), ("data_val", data_val))}
        for name, (x, y) in batches.items():
            if x.device.type == "cpu":
                check_data(x, f"{name} x")
            if y.device.type == "cpu":
                check_data(y, f"{name} y")
                self._check_targets(name, y)
        if self.searcher is None:
            self._build(batches["data_train"], batches["data_val"])
        s = self.searcher
        train_batch, valid_batch = (
            as_dtype((x.to(s.device), y.to(s.device)), s.input_dtype) for x, y in batches.values()
        )
        fresh = not s._preflight_done
        if fresh:  # the first batches through the model and the loss, as dnas.search does
            train_batch, valid_batch = s._preflight(train_batch, valid_batch)
        if s.epoch >= s.config.warmup_epochs and s.step % s.config.arch_every == 0:
            loss_val, logits_val = s.arch_step(train_batch, valid_batch)
        else:
            loss_val, logits_val = _evaluate(s, valid_batch)
        logits_train, loss_train = s.weight_step(train_batch)
        s.guard.check(epoch=s.epoch, step=s.step, fresh=fresh and s.epoch == 0)
        s.step += 1
        out = logits_train[0] if isinstance(logits_train, (tuple, list)) else logits_train
        if isinstance(out, torch.Tensor) and out.dim() >= 1:
            self._out_shape = tuple(out.shape[1:])
        return logits_train, logits_val, loss_train.detach(), loss_val

    def _check_targets(self, name: str, y: torch.Tensor) -> None:
        """Targets that do not fit the named loss and the model's output (known after the first
        step; the first batches are checked by the pre-flight): one error naming the batch."""
        shape = self._out_shape
        if shape is None:
            return
        loss = type(self.loss).__name__
        if isinstance(self.loss, _CLASS_LOSSES) and shape:
            if y.is_floating_point() or y.is_complex():  # class probabilities: the output's shape
                if tuple(y.shape[1:]) != shape:
                    raise ValueError(
                        f"{name} targets are {y.dtype} of shape {tuple(y.shape)}: {loss} takes "
                        f"class indices (an integer tensor, e.g. y.long()) or class probabilities "
                        f"of the output's shape (n, {', '.join(map(str, shape))})"
                    )
                return
            check_class_targets(y, shape[0], f"{name} targets",
                                getattr(self.loss, "ignore_index", None))
        elif isinstance(self.loss, _SAME_SHAPE_LOSSES) and tuple(y.shape[1:]) != shape:
            raise ValueError(
                f"{name} targets have shape {tuple(y.shape)} but the model outputs "
                f"(n, {', '.join(map(str, shape))}): {loss} needs targets of the output's shape "
                "(torch would broadcast them silently)"
            )

    def get_final_architecture(self) -> Architecture:
        """The architecture the search found (the configured export rule)."""
        if self.searcher is None:
            raise RuntimeError("no step has been taken: nothing to export")
        from dnas.arch.derivation import select_architecture

        arch = select_architecture(self.searcher)
        arch.meta.setdefault("method", self.config.method)
        return arch

    def get_final_model(self) -> nn.Module:
        """``dnas.fix(model, get_final_architecture())``: the discrete model."""
        from dnas.arch.derivation import fix

        if self.model is None:
            raise RuntimeError("call adapt_search_space(model) first")
        return fix(self.model, self.get_final_architecture())

    def get_op_optimizer(self) -> type:
        """The weights' optimiser class (NASLib's accessor)."""
        return torch.optim.SGD

    def get_model_size(self) -> float:
        """Parameters of the search model, in millions."""
        if self.model is None:
            raise RuntimeError("call adapt_search_space(model) first")
        return sum(p.numel() for p in self.model.parameters()) / 1e6

    def get_checkpointables(self) -> dict[str, Any]:
        """What a checkpoint must hold to continue (the search's whole state)."""
        if self.searcher is None:
            return {"model": self.model}
        return {"model": self.model, "searcher": self.searcher.state_dict()}

    # ------------------------------------------------------------------ internals
    def _build(self, train_batch: tuple, valid_batch: tuple) -> None:
        from dnas.bilevel.loop import Searcher

        loss = self.loss

        def loss_fn(out: Any, y: torch.Tensor) -> torch.Tensor:
            return loss(out, y)

        if self.model is None:
            raise RuntimeError("call adapt_search_space(model) first")
        # the streams are never read: batches arrive through step()
        self.searcher = Searcher(
            self.model, train_batch, valid_batch,
            self.config.replace(steps_per_epoch=1, batch_size=int(train_batch[0].shape[0])),
            loss_fn=loss_fn,
        )
        # its NaN/inf messages name the learning rates as this constructor takes them
        self.searcher.guard = search_guard(self.searcher.config, names=_NASLIB_NAMES)
        self.searcher.model.train()
        self._start_epoch()

    def _start_epoch(self) -> None:
        s = self.searcher
        from dnas.relaxations import installed_relaxations

        target = max(self.epoch, 0)
        while s.epoch < target:  # the cosine schedule steps once per epoch
            s.scheduler.step()
            s.epoch += 1
        fraction = target / max(self.config.epochs, 1)
        for r in installed_relaxations(s.model):
            r.set_progress(fraction)
        if s.robust is not None:
            s.robust.set_progress(fraction)
        s.step = 0


class DrNASOptimizer(DARTSOptimizer):
    """DrNAS (Chen et al., 2021): Dirichlet samples of the mixing weights and their KL
    regulariser (``method_options={"reg_weight": 1e-3}`` by default, the paper's preset)."""

    method = "drnas"


class GDASOptimizer(DARTSOptimizer):
    """GDAS (Dong & Yang, 2019): hard straight-through Gumbel-softmax, one path per step.

    Parameters
    ----------
    tau_max, tau_min : float, default 10, 0.1
        The temperature's linear schedule over ``epochs``.
    **kwargs
        As :class:`DARTSOptimizer`.
    """

    method = "gdas"

    def __init__(self, *args: Any, tau_max: float = 10.0, tau_min: float = 0.1,
                 **kwargs: Any) -> None:
        from dnas.relaxations.gdas import HardGumbel

        HardGumbel(tau_max=tau_max, tau_min=tau_min)  # checks them now, not at the first step
        options = dict(kwargs.pop("method_options", None) or {})
        options.update(tau_max=tau_max, tau_min=tau_min)
        super().__init__(*args, method_options=options, **kwargs)


@torch.no_grad()
def _evaluate(searcher: Any, batch: tuple) -> tuple[torch.Tensor, Any]:
    # during warm-up there is no α step; the validation logits come from an evaluation-mode pass
    # that leaves BatchNorm statistics as the search loop would
    x, y = batch
    model = searcher.model
    model.eval()
    try:
        out = model(x)
    finally:
        model.train()
    return searcher.loss_fn(out, y).detach(), out.detach()


__all__ = ["DARTSOptimizer", "DrNASOptimizer", "GDASOptimizer"]
