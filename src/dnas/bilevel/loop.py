"""The bilevel search loop (DARTS, Algorithm 1): alternate α steps on the validation split and w
steps on the training split.

    while not converged:
        1. update α by descending ∇_α L_val(w - ξ ∇_w L_train(w, α), α)   (ξ = 0: first order)
        2. update w by descending ∇_w L_train(w, α)

The loop knows nothing of the model beyond its choices: relaxation, hypergradient, optimisers,
schedules and data streams are each one small object, and the whole state is a ``state_dict`` so
that a run can be checkpointed and resumed exactly.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from dnas.arch.derivation import derive
from dnas.bilevel.batches import make_batches
from dnas.bilevel.config import SearchConfig
from dnas.bilevel.result import Callback, SearchResult
from dnas.bilevel.runtime import default_loss, resolve_device
from dnas.optim.gradient import Objective, hypergradient
from dnas.relaxations import Relaxation, installed_relaxations, relax
from dnas.relaxations.base import Relaxation as _Base
from dnas.space.binding import arch_groups, weight_parameters

LossFn = Callable[[Any, torch.Tensor], torch.Tensor]


class Searcher:
    """The state and the loop of one search. :func:`dnas.search` is the usual front door.

    Parameters
    ----------
    model : nn.Module
        A model with labelled choices; relaxed in place with ``config.method``.
    train, valid
        DataLoaders, iterables of ``(x, y)`` batches, or ``(X, y)`` tensor pairs.
    config : SearchConfig
    loss_fn : callable, optional
        ``loss_fn(output, target)``; default :func:`default_loss`.
    callbacks : sequence of Callback
    per_label : dict, optional
        Relaxation overrides per label (see :func:`dnas.relax`).
    augment : callable, optional
        ``augment(x, generator=g) -> x`` applied on the device to every training *and* validation
        batch (DARTS augments both halves of its search data with crop + flip), e.g.
        :class:`dnas.data.Augment`. Its randomness comes from the searcher's own seeded generator,
        which checkpoints save, so a resumed search draws the same augmentations.
    """

    def __init__(
        self,
        model: nn.Module,
        train: Any,
        valid: Any,
        config: SearchConfig,
        *,
        loss_fn: LossFn | None = None,
        callbacks: Sequence[Callback] = (),
        per_label: Mapping[str, str | Relaxation] | None = None,
        augment: Callable[..., torch.Tensor] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
        if loss_fn is not None and not callable(loss_fn):
            raise ValueError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if augment is not None and not callable(augment):
            raise ValueError(f"augment must be callable, got {type(augment).__name__}")
        self.augment = augment
        self.config = config
        self.device = resolve_device(config.device)
        relax(model, config.method, per_label=per_label, **config.method_options)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn or default_loss
        self.callbacks = list(callbacks)
        seed = config.seed
        self._data_gen = [torch.Generator(), torch.Generator()]
        self.sample_generator = torch.Generator(device=self.device)
        self.aug_generator = torch.Generator(device=self.device)
        if seed is not None:
            self._data_gen[0].manual_seed(seed)
            self._data_gen[1].manual_seed(seed + 1)
            self.sample_generator.manual_seed(seed + 2)
            self.aug_generator.manual_seed(seed + 3)
        else:
            for g in (*self._data_gen, self.sample_generator, self.aug_generator):
                g.seed()
        self.train = make_batches(train, "train", config.batch_size, self._data_gen[0])
        self.valid = make_batches(valid, "valid", config.batch_size, self._data_gen[1])
        self.steps_per_epoch = config.steps_per_epoch or self._default_steps()

        self.groups = arch_groups(self.model)
        self.labels = list(self.groups)
        self.alphas = [g.alpha for g in self.groups.values()]
        self.w_params = [p for p in weight_parameters(self.model) if p.requires_grad]
        self._objective = Objective(self.model, self.loss_fn)
        # foreach: multi-tensor updates also on CPU (torch picks the per-tensor loop there)
        self.w_optimizer = torch.optim.SGD(
            self.w_params,
            lr=config.w_lr,
            momentum=config.w_momentum,
            weight_decay=config.w_weight_decay,
            foreach=True,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.w_optimizer, T_max=max(config.epochs, 1), eta_min=config.w_lr_min
        )
        if config.arch_optimizer == "adam":
            self.a_optimizer: torch.optim.Optimizer = torch.optim.Adam(
                self.alphas,
                lr=config.arch_lr,
                betas=config.arch_betas,
                weight_decay=config.arch_weight_decay,
            )
        else:
            self.a_optimizer = torch.optim.SGD(
                self.alphas,
                lr=config.arch_lr,
                momentum=config.arch_momentum,
                weight_decay=config.arch_weight_decay,
            )
        # per-candidate α decay: base + df · (#parameters of the candidate)
        self._size_decay = None
        if config.arch_weight_decay_df or config.arch_weight_decay_base:
            self._size_decay = [
                config.arch_weight_decay_base
                + config.arch_weight_decay_df
                * torch.tensor(g.candidate_sizes, dtype=g.alpha.dtype, device=g.alpha.device)
                for g in self.groups.values()
            ]
        self._rescaling = [
            (g, g.relaxation)
            for g in self.groups.values()
            if type(g.relaxation).after_arch_step is not _Base.after_arch_step
        ]
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self._stop = False
        self._first_batch_checked = False
        # multi-process hook: a dnas.bilevel.distributed.DataParallel set by the caller under
        # torchrun shards each global batch and averages gradients; None in a single process
        self.data_parallel: Any = None
        self._resumed_rng: tuple[Any, Any] | None = None
        self._reset_meters()

    # ------------------------------------------------------------------ helpers
    def _default_steps(self) -> int:
        try:
            return min(len(self.train), len(self.valid))
        except TypeError:
            raise ValueError(
                "train/valid have no length (plain iterables): pass steps_per_epoch"
            ) from None

    def _forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[Any, torch.Tensor]:
        if self._first_batch_checked:
            out = self.model(x)
            return out, self.loss_fn(out, y)
        # the first batch turns shape/dtype mismatches into one clear error instead of a torch trace
        try:
            out = self.model(x)
        except (RuntimeError, TypeError, ValueError) as err:
            raise ValueError(
                f"the model cannot take the training inputs (x: {tuple(x.shape)}, {x.dtype}): {err}"
            ) from err
        try:
            loss = self.loss_fn(out, y)
        except (RuntimeError, TypeError, ValueError, IndexError) as err:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"loss_fn cannot compare the model output {shape} with the targets "
                f"(y: {tuple(y.shape)}, {y.dtype}): {err}"
            ) from err
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar tensor, got {loss!r:.80}")
        self._first_batch_checked = True
        return out, loss

    def _resample(self) -> None:
        # one sample per label per step, shared by every choice bound to the label
        for group in self.groups.values():
            group.resample(self.sample_generator)

    def _reset_meters(self) -> None:
        zero = torch.zeros((), device=self.device, dtype=torch.float64)
        self._meters = {k: zero.clone() for k in ("tl", "tc", "ta", "tn", "vl", "vc", "va", "vn")}
        self._epoch_start = time.perf_counter()

    def _next_batches(self):
        """This step's training and validation batches, on the device, augmented if asked."""
        train_batch, valid_batch = self.train.next(), self.valid.next()
        if self.data_parallel is not None:
            # augment the global batch first, so that every rank's slice is what one process
            # would have seen, then keep this rank's slice
            train_batch, valid_batch = self._augmented(train_batch), self._augmented(valid_batch)
            train_batch = self._to_device(self.data_parallel.shard(train_batch))
            valid_batch = self._to_device(self.data_parallel.shard(valid_batch))
            return train_batch, valid_batch
        return self._augmented(self._to_device(train_batch)), self._augmented(
            self._to_device(valid_batch)
        )

    def _augmented(self, batch):
        if self.augment is None:
            return batch
        x, y = batch
        return self.augment(x, generator=self.aug_generator), y

    def _to_device(self, batch):
        x, y = batch
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def _meter(self, prefix: str, loss: torch.Tensor, out: Any, y: torch.Tensor) -> None:
        m, n = self._meters, y.shape[0]
        m[prefix + "l"] += loss.detach().double() * n
        m[prefix + "n"] += n
        if isinstance(out, (tuple, list)):
            out = out[0]
        if not y.is_floating_point() and out.dim() == 2:
            m[prefix + "c"] += (out.detach().argmax(1) == y).sum()
            m[prefix + "a"] += n

    def stop(self) -> None:
        """Ask the loop to end after the current step."""
        self._stop = True

    # ------------------------------------------------------------------ one step
    def arch_step(self, train_batch, valid_batch) -> None:
        """One α update (first or second order) on a training and a validation batch."""
        cfg = self.config
        self._resample()
        dp = self.data_parallel
        reduce = dp.average_dict if dp is not None else None  # multi-process: global gradients
        grads, last_valid = hypergradient(
            self.model,
            self.loss_fn,
            train_batch,
            valid_batch,
            self.w_optimizer,
            cfg.order,
            mode=cfg.hypergradient,
            reduce=reduce,
            objective=self._objective,
        )
        if reduce is not None:
            grads = reduce(grads)
        for i, (label, alpha) in enumerate(zip(self.labels, self.alphas)):
            g = grads[label]
            if self._size_decay is not None:
                g = g + self._size_decay[i] * alpha.detach()
            alpha.grad = g
        before = [g.alpha.detach().clone() for g, _ in self._rescaling]
        self.a_optimizer.step()
        for (group, relaxation), a0 in zip(self._rescaling, before):
            relaxation.after_arch_step(group, a0)
        if last_valid is not None:
            self._meter("v", last_valid[0], last_valid[1], valid_batch[1])

    def weight_step(self, train_batch) -> None:
        """One w update: SGD on the training loss, α frozen, gradient norm clipped."""
        self._resample()
        x, y = train_batch
        for a in self.alphas:
            a.requires_grad_(False)  # also tells binary gates not to compute gate gradients
        try:
            self.w_optimizer.zero_grad(set_to_none=True)
            out, loss = self._forward_loss(x, y)
            if loss.requires_grad:  # a sampled path with no weights (e.g. `none`) trains nothing
                loss.backward()
                if self.data_parallel is not None:  # multi-process: average before clipping
                    self.data_parallel.average_grads(self.w_params)
                if self.config.grad_clip is not None:
                    nn.utils.clip_grad_norm_(self.w_params, self.config.grad_clip)
                self.w_optimizer.step()
        finally:
            for a in self.alphas:
                a.requires_grad_(True)
        self._meter("t", loss, out, y)

    # ------------------------------------------------------------------ the loop
    def run(self) -> SearchResult:
        """Run (or continue) the search to ``config.epochs``; returns the result."""
        cfg = self.config
        total = cfg.epochs * self.steps_per_epoch
        show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        self.model.train()
        with ExitStack() as stack:
            if cfg.seed is not None:
                devices = [self.device.index or 0] if self.device.type == "cuda" else []
                stack.enter_context(torch.random.fork_rng(devices=devices))
                torch.manual_seed(cfg.seed)
            if self._resumed_rng is not None:  # resumed: the global RNG as it was at the checkpoint
                torch.set_rng_state(self._resumed_rng[0])
                if self._resumed_rng[1] is not None:
                    torch.cuda.set_rng_state_all(self._resumed_rng[1])
                self._resumed_rng = None
            bar = stack.enter_context(
                tqdm(
                    total=total,
                    initial=self.epoch * self.steps_per_epoch + self.step,
                    disable=not show,
                    desc="search",
                    leave=False,
                    dynamic_ncols=True,
                )
            )
            while self.epoch < cfg.epochs and not self._stop:
                for r in installed_relaxations(self.model):
                    r.set_progress(self.epoch / max(cfg.epochs, 1))
                searching = self.epoch >= cfg.warmup_epochs
                while self.step < self.steps_per_epoch and not self._stop:
                    train_batch, valid_batch = self._next_batches()
                    if searching and self.step % cfg.arch_every == 0:
                        self.arch_step(train_batch, valid_batch)
                    self.weight_step(train_batch)
                    self.step += 1
                    bar.update(1)
                    for cb in self.callbacks:
                        cb.on_step_end(self)
                if self.step >= self.steps_per_epoch:
                    self._end_epoch(bar)
        architecture = derive(self.model)
        architecture.meta.setdefault("method", cfg.method)
        architecture.meta.setdefault("order", cfg.order)
        return SearchResult(architecture, self.history, self.model, cfg)

    def _end_epoch(self, bar) -> None:
        if self.data_parallel is not None:  # multi-process: totals over ranks, one BN state
            self.data_parallel.sum_(self._meters.values())
            self.data_parallel.average_buffers(self.model)
        m = {k: float(v) for k, v in self._meters.items()}  # the epoch's one host sync

        def ratio(a: float, b: float) -> float:
            return a / b if b else math.nan

        row: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "train_loss": ratio(m["tl"], m["tn"]),
            "train_acc": ratio(m["tc"], m["ta"]),
            "valid_loss": ratio(m["vl"], m["vn"]),
            "valid_acc": ratio(m["vc"], m["va"]),
            "lr": self.w_optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - self._epoch_start,
            "probabilities": {k: g.probabilities().tolist() for k, g in self.groups.items()},
            "alpha": {k: g.alpha.detach().tolist() for k, g in self.groups.items()},
        }
        self.history.append(row)
        self.scheduler.step()
        self.epoch += 1
        self.step = 0
        self._reset_meters()
        bar.set_postfix(
            epoch=self.epoch, loss=f"{row['train_loss']:.4g}", valid=f"{row['valid_loss']:.4g}"
        )
        for cb in self.callbacks:
            cb.on_epoch_end(self)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this search exactly: weights, α, optimisers, RNGs, data."""
        return {
            "model": self.model.state_dict(),
            "w_optimizer": self.w_optimizer.state_dict(),
            "a_optimizer": self.a_optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "history": self.history,
            "meters": {k: v.cpu() for k, v in self._meters.items()},
            "sample_generator": self.sample_generator.get_state(),
            "aug_generator": self.aug_generator.get_state(),
            "train_stream": self.train.state_dict(),
            "valid_stream": self.valid.state_dict(),
            "relaxations": [dict(vars(r)) for r in installed_relaxations(self.model)],
            "global_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.w_optimizer.load_state_dict(state["w_optimizer"])
        self.a_optimizer.load_state_dict(state["a_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.history = list(state["history"])
        self._meters = {k: v.to(self.device) for k, v in state["meters"].items()}
        dp = self.data_parallel
        if state.get("meters_over_ranks") and dp is not None and not dp.is_main:
            # rank 0 restored the totals of all ranks (search/checkpoint.py): count them once
            self._meters = {k: torch.zeros_like(v) for k, v in self._meters.items()}
        self.sample_generator.set_state(state["sample_generator"])
        if "aug_generator" in state:  # absent from checkpoints written before augmentation
            self.aug_generator.set_state(state["aug_generator"])
        self.train.load_state_dict(state["train_stream"])
        self.valid.load_state_dict(state["valid_stream"])
        for r, saved in zip(installed_relaxations(self.model), state["relaxations"]):
            vars(r).update(saved)
        # applied by run() after its own seeding, which would otherwise overwrite it
        self._resumed_rng = (state["global_rng"], state.get("cuda_rng"))
