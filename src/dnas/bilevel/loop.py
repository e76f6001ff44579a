"""The bilevel search loop (DARTS, Algorithm 1): alternate α steps on the validation split and w
steps on the training split.

    while not converged:
        1. update α by descending ∇_α L_val(w - ξ ∇_w L_train(w, α), α)   (ξ = 0: first order)
        2. update w by descending ∇_w L_train(w, α)

The loop knows nothing of the model beyond its choices: relaxation, hypergradient, optimisers
(:mod:`~dnas.bilevel.optimizers`), data streams and meters (:mod:`dnas.runtime`) are each one
small object, and the whole state is a ``state_dict`` (:mod:`~dnas.bilevel.state`) so that a run
can be checkpointed and resumed exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dnas.bilevel import costs
from dnas.bilevel import guard as _guard
from dnas.bilevel import optimizers as opt
from dnas.bilevel import state as _state
from dnas.bilevel.config import SearchConfig, resolve_config
from dnas.bilevel.feed import Batch, epoch_length, next_batches
from dnas.bilevel.first_batch import as_dtype, input_dtype, preflight, prepare_tensors
from dnas.bilevel.graphed import GraphedIterations, check_graphable, why_not_graphed
from dnas.bilevel.result import SearchResult, history_row
from dnas.cost.budget import BudgetPenalty
from dnas.optim.gradient import hypergradient
from dnas.optim.objective import Objective
from dnas.relaxations import Relaxation, installed_relaxations, relax
from dnas.robust.hooks import robust_method, robust_weight_step
from dnas.runtime.batches import make_batches
from dnas.runtime.callbacks import Callback
from dnas.runtime.device import resolve_device
from dnas.runtime.loop import LoopState
from dnas.runtime.loss import default_loss
from dnas.runtime.progress import progress_bar
from dnas.runtime.rng import generator, global_rng
from dnas.space.binding import arch_groups, weight_parameters

LossFn = Callable[[Any, torch.Tensor], torch.Tensor]


class Searcher(LoopState):
    """The state and the loop of one search. :func:`dnas.search` is the usual front door.

    Parameters
    ----------
    model : nn.Module
        A model with labelled choices; relaxed in place with ``config.method``.
    train, valid
        DataLoaders, iterables of ``(x, y)`` batches, or ``(X, y)`` tensor pairs.
    config : SearchConfig, optional
        The whole configuration. Without it, ``**options`` build
        ``SearchConfig.for_method(method, **options)`` (the method's paper preset, then the
        options); giving both is a ``TypeError``.
    loss_fn : callable, optional
        ``loss_fn(output, target)``; default :func:`dnas.runtime.loss.default_loss`.
    callbacks : sequence of Callback
    per_label : dict, optional
        Relaxation overrides per label (see :func:`dnas.relax`).
    augment : callable, optional
        ``augment(x, generator=g) -> x`` applied on the device to every training *and* validation
        batch (DARTS augments both halves of its search data with crop + flip), e.g.
        :class:`dnas.data.Augment`. Its randomness comes from the searcher's own seeded generator,
        which checkpoints save, so a resumed search draws the same augmentations.
    **options
        ``method=`` and any other :class:`SearchConfig` field, when ``config`` is not given.

    Attributes
    ----------
    meters : dnas.runtime.Meters
        The epoch's running loss and accuracy of the ``"train"`` and ``"valid"`` splits.
    data_parallel : dnas.bilevel.distributed.DataParallel or None
        Set by the caller under ``torchrun``: shards each global batch and averages gradients.
    resume_rng : dict or None
        Global RNG state of a loaded checkpoint, applied when :meth:`run` starts.
    """

    def __init__(
        self,
        model: nn.Module,
        train: Any,
        valid: Any,
        config: SearchConfig | None = None,
        *,
        loss_fn: LossFn | None = None,
        callbacks: Iterable[Callback] = (),
        per_label: Mapping[str, str | Relaxation] | None = None,
        augment: Callable[..., torch.Tensor] | None = None,
        **options: Any,
    ) -> None:
        config = resolve_config(config, options, "Searcher()")
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
        for name, fn in (("loss_fn", loss_fn), ("augment", augment)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be callable, got {type(fn).__name__}")
        self.augment = augment
        self.config = config
        self.device = resolve_device(config.device)
        if config.cuda_graph:
            check_graphable(self.device)  # before the model is touched
        relax(model, config.method, per_label=per_label, **config.method_options)
        # a collapse-robust method wraps the installed relaxations (dnas.robust)
        self.robust = robust_method(config)
        if self.robust is not None:
            self.robust.install(model)
        self.model = model.to(self.device)
        self.loss_fn: LossFn = loss_fn or default_loss
        self._init_state(("train", "valid"), self.device, callbacks, _guard.search_guard(config))
        seed = config.seed
        self.sample_generator = generator(None if seed is None else seed + 2, self.device)
        self.aug_generator = generator(None if seed is None else seed + 3, self.device)
        self.train = make_batches(train, "train", config.batch_size, generator(seed))
        self.valid = make_batches(valid, "valid", config.batch_size,
                                  generator(None if seed is None else seed + 1))
        #: floating inputs are converted to the weights' dtype (first_batch.input_dtype)
        self.input_dtype = prepare_tensors(self.model, self.train, self.valid)
        self.steps_per_epoch = config.steps_per_epoch or epoch_length(self.train, self.valid)

        self.groups = arch_groups(self.model)
        self.labels = list(self.groups)
        self.alphas = [g.alpha for g in self.groups.values()]
        self.w_params = [p for p in weight_parameters(self.model) if p.requires_grad]
        self._objective = Objective(self.model, self.loss_fn)
        self.w_optimizer, self.scheduler = opt.weight_optimizer(self.w_params, config)
        self.a_optimizer = opt.arch_optimizer(self.alphas, config)
        self._size_decay = opt.size_decay(self.groups.values(), config)
        self._rescaling = [g for g in self.groups.values() if g.relaxation.rescales_after_step]
        self._stop = False
        self._preflight_done = False
        self.data_parallel: Any = None
        #: cuda_graph=True: the iterations replayed from CUDA graphs (built when run() starts)
        self.graphed: GraphedIterations | None = None
        if config.cuda_graph and (why := why_not_graphed(self)) is not None:
            raise ValueError(f"cuda_graph=True (--cuda-graph): this search cannot be captured: "
                             f"{why}")
        # cost= : the budget penalty, built on the first batch (FLOPs and latency need an input)
        self.budget: BudgetPenalty | None = None

    def _preflight(self, train_batch: Batch, valid_batch: Batch) -> tuple[Batch, Batch]:
        # once per run, before any step (first_batch.py); a DataLoader's floating inputs are
        # converted to the weights' dtype from here on
        if self.input_dtype is None:
            self.input_dtype = input_dtype(train_batch[0], self.model, "train")
        train_batch, valid_batch = (as_dtype(train_batch, self.input_dtype),
                                    as_dtype(valid_batch, self.input_dtype))
        preflight(self.model, self.loss_fn, train_batch, valid_batch, self.groups,
                  self.sample_generator, self.device)
        self._preflight_done = True
        return train_batch, valid_batch

    def _resample(self) -> None:
        # one sample per label per step, shared by every choice bound to the label
        for group in self.groups.values():
            group.resample(self.sample_generator)

    def budget_penalty(self, x: torch.Tensor) -> BudgetPenalty:
        """The ``cost=`` penalty, built once on the first inputs ``x``."""
        if self.budget is None:
            self.budget = costs.penalty(self.config, self.model, x)
        return self.budget

    def stop(self) -> None:
        """Ask the loop to end after the current step."""
        self._stop = True

    # ------------------------------------------------------------------ one step
    def arch_step(self, train_batch: Batch, valid_batch: Batch) -> tuple[Any, Any] | None:
        """One α update (first or second order) on a training and a validation batch.

        Returns the validation ``(loss, output)`` of the step (detached), or None when the
        hypergradient does not evaluate them.
        """
        cfg = self.config
        self._resample()
        dp = self.data_parallel
        reduce = dp.average_dict if dp is not None else None  # multi-process: global gradients
        grads, last_valid = hypergradient(
            self.model, self.loss_fn, train_batch, valid_batch, self.w_optimizer, cfg.order,
            mode=cfg.hypergradient, reduce=reduce, objective=self._objective,
        )
        if cfg.cost is not None:  # λ ∂φ(log E/B)/∂α: a function of α alone, any order
            grads = self.budget_penalty(train_batch[0]).add_gradients(grads)
        if reduce is not None:
            grads = reduce(grads)
        applied = opt.step_alphas(self.a_optimizer, list(self.groups.values()),
                                  [grads[label] for label in self.labels], self._size_decay,
                                  self._rescaling)
        if last_valid is not None:  # watched in the order computed: the first is the cause
            self.guard.watch(_guard.VALID_LOSS, last_valid[0])
            self.meters["valid"].update(last_valid[0], last_valid[1], valid_batch[1])
        if applied:  # each as one flat tensor: a few kernels, no host sync
            self.guard.watch(_guard.ARCH_GRAD, torch.cat(applied))
            self.guard.watch(_guard.ALPHA, torch.cat([a.detach().reshape(-1)
                                                      for a in self.alphas]))
        return last_valid

    def weight_step(self, train_batch: Batch) -> tuple[Any, torch.Tensor]:
        """One w update: SGD on the training loss, α frozen, gradient norm clipped.

        Returns the step's ``(output, loss)``.
        """
        self._resample()
        x, y = train_batch
        for a in self.alphas:
            a.requires_grad_(False)  # also tells binary gates not to compute gate gradients
        try:
            self.w_optimizer.zero_grad(set_to_none=True)
            with robust_weight_step(self.robust, self, train_batch):  # SDARTS perturbs α here
                out = self.model(x)
                loss = self.loss_fn(out, y)
            self.guard.watch(_guard.TRAIN_LOSS, loss)
            if loss.requires_grad:  # a sampled path with no weights (e.g. `none`) trains nothing
                loss.backward()
                if self.data_parallel is not None:  # multi-process: average before clipping
                    self.data_parallel.average_grads(self.w_params)
                norm = opt.clip_or_norm(self.w_params, self.config.grad_clip)
                self.guard.watch(_guard.W_GRAD_NORM, norm)
                self.w_optimizer.step()
        finally:
            for a in self.alphas:
                a.requires_grad_(True)
        self.meters["train"].update(loss, out, y)
        return out, loss

    # ------------------------------------------------------------------ the loop
    def run(self) -> SearchResult:
        """Run (or continue) the search to ``config.epochs``; returns the result."""
        cfg = self.config
        self.model.train()
        # resumed: the global RNG as it was at the checkpoint, set after run()'s own seeding
        resumed, self.resume_rng = self.resume_rng, None
        _guard.warn_if_alpha_frozen(cfg, self.epoch)
        if cfg.cuda_graph and self.graphed is None:
            self.graphed = GraphedIterations(self, capture=True)
        with global_rng(self.device, cfg.seed, resumed), progress_bar(
            cfg.epochs * self.steps_per_epoch,
            initial=self.epoch * self.steps_per_epoch + self.step,
            desc="search", show=cfg.progress,
        ) as bar:
            while self.epoch < cfg.epochs and not self._stop:
                for r in installed_relaxations(self.model):
                    r.set_progress(self.epoch / max(cfg.epochs, 1))
                if self.robust is not None:
                    self.robust.set_progress(self.epoch / max(cfg.epochs, 1))
                searching = self.epoch >= cfg.warmup_epochs
                while self.step < self.steps_per_epoch and not self._stop:
                    train_batch, valid_batch = next_batches(
                        self.train, self.valid, self.device, self.augment, self.aug_generator,
                        self.data_parallel, self.input_dtype,
                    )
                    if not self._preflight_done:  # before any step of this run
                        train_batch, valid_batch = self._preflight(train_batch, valid_batch)
                    if cfg.cost is not None:  # built once, before the first row reports it
                        self.budget_penalty(train_batch[0])
                    with_arch = searching and self.step % cfg.arch_every == 0
                    graphed = self.graphed is not None and self.graphed.step(
                        train_batch, valid_batch, with_arch)
                    if not graphed:  # eager (also a short last batch under cuda_graph)
                        if with_arch:
                            self.arch_step(train_batch, valid_batch)
                        self.weight_step(train_batch)
                    self._end_step(bar)
                if self.step >= self.steps_per_epoch:
                    self._end_epoch(bar)
        return SearchResult(costs.final_architecture(self), self.history, self.model, cfg)

    def _end_epoch(self, bar: Any) -> None:
        if self.data_parallel is not None:  # multi-process: totals over ranks, one BN state
            self.data_parallel.sum_(self.meters.tensors())
            self.data_parallel.average_buffers(self.model)
        row = history_row(
            self.epoch + 1, self.meters.summary(), self.w_optimizer.param_groups[0]["lr"],
            self.epoch_seconds(), self.groups,
        )
        if self.budget is not None:
            row.update(self.budget.report())
        self._finish_epoch(row, self.scheduler, bar, loss=f"{row['train_loss']:.4g}",
                           valid=f"{row['valid_loss']:.4g}")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this search exactly: weights, α, optimisers, RNGs, data."""
        return _state.searcher_state(self)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (the global RNG is applied when :meth:`run` starts)."""
        _state.load_searcher_state(self, state)
