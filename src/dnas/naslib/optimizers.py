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
from typing import Any

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.bilevel.config import SearchConfig
from dnas.runtime.checks import check_bool

_LOSSES: dict[str, Callable[[], nn.Module]] = {
    "CrossEntropyLoss": nn.CrossEntropyLoss,
    "MSELoss": nn.MSELoss,
    "L1Loss": nn.L1Loss,
}


#: SearchConfig's names of the NASLib constructor's parameters (for the errors)
_NASLIB_NAMES = {"w_lr": "learning_rate", "w_momentum": "momentum",
                 "w_weight_decay": "weight_decay", "arch_lr": "arch_learning_rate"}

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
        if op_optimizer not in ("SGD", torch.optim.SGD):
            raise ValueError(
                f"op_optimizer={op_optimizer!r} is not supported; dnas trains w with 'SGD'"
            )
        names = {"Adam": "adam", "SGD": "sgd", torch.optim.Adam: "adam", torch.optim.SGD: "sgd"}
        if arch_optimizer not in names:
            raise ValueError(f"arch_optimizer={arch_optimizer!r} must be 'Adam' or 'SGD'")
        if isinstance(loss_criteria, str):
            if loss_criteria not in _LOSSES:
                raise ValueError(
                    f"loss_criteria={loss_criteria!r} is not one of {sorted(_LOSSES)} (or pass a "
                    "callable)"
                )
            self.loss: Callable[..., torch.Tensor] = _LOSSES[loss_criteria]()
        elif callable(loss_criteria):
            self.loss = loss_criteria
        else:
            raise ValueError(f"loss_criteria={loss_criteria!r} must be a name or a callable")
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
                arch_optimizer=names[arch_optimizer], seed=seed, progress=False,
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
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch={epoch!r} must be an integer >= 0")
        self.epoch = epoch
        if self.searcher is not None:
            self._start_epoch()

    def step(self, data_train: Any, data_val: Any) -> tuple[Any, Any, torch.Tensor, torch.Tensor]:
        """One α step on ``data_val`` and one weight step on ``data_train`` (each ``(x, y)``).

        Returns
        -------
        (logits_train, logits_val, loss_train, loss_val)
            Detached.
        """
        if self.model is None:
            raise RuntimeError("call adapt_search_space(model) before step()")
        train_batch, valid_batch = _pair(data_train, "data_train"), _pair(data_val, "data_val")
        if self.searcher is None:
            self._build(train_batch, valid_batch)
        s = self.searcher
        train_batch = (train_batch[0].to(s.device), train_batch[1].to(s.device))
        valid_batch = (valid_batch[0].to(s.device), valid_batch[1].to(s.device))
        if s.epoch >= s.config.warmup_epochs and s.step % s.config.arch_every == 0:
            loss_val, logits_val = s.arch_step(train_batch, valid_batch)
        else:
            loss_val, logits_val = _evaluate(s, valid_batch)
        logits_train, loss_train = s.weight_step(train_batch)
        s.step += 1
        return logits_train, logits_val, loss_train.detach(), loss_val

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
        options = dict(kwargs.pop("method_options", None) or {})
        options.update(tau_max=tau_max, tau_min=tau_min)
        super().__init__(*args, method_options=options, **kwargs)


def _pair(data: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be an (inputs, targets) pair, got {type(data).__name__}")
    return data[0], data[1]


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
