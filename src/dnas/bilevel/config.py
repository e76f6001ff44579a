"""Search configuration: one frozen dataclass, one home for every default, per-paper presets.

The defaults are those of DARTS (Liu et al., 2019, section 3.1.1): SGD with momentum 0.9, learning
rate 0.025 annealed to 0.001 by cosine, weight decay 3e-4, gradient clipping at 5; Adam for α with
learning rate 3e-4, betas (0.5, 0.999), weight decay 1e-3; batch 64; 50 epochs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dnas.optim.gradient import MODES
from dnas.relaxations.registry import methods
from dnas.runtime.checks import (
    FLOAT32_MAX,
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_mapping,
    check_seed,
)

#: ``cost_options`` that count something, and their least value (:func:`dnas.cost.from_options`).
_COST_COUNTS = {"max_combinations": 1, "latency_batch_size": 1, "latency_repeats": 1,
                "latency_warmup": 0, "latency_rounds": 1, "latency_sweeps": 1,
                "latency_calibrate": 0, "export_samples": 0, "export_evaluations": 1}

#: What each paper changed relative to the DARTS defaults (only the fields it changed).
PRESETS: dict[str, dict[str, Any]] = {
    "darts": {},
    # Fair DARTS (Chu et al. 2020): DARTS' settings, zero-one loss weight 10
    "fair-darts": {"method_options": {"zero_one_weight": 10.0}},
    # DrNAS (Chen et al. 2021): arch lr 6e-4, KL regulariser 1e-3
    "drnas": {"arch_lr": 6e-4, "method_options": {"reg_weight": 1e-3}},
    # GDAS (Dong & Yang 2019): temperature 10 -> 0.1, arch lr 3e-4, arch wd 1e-3
    "gdas": {"method_options": {"tau_max": 10.0, "tau_min": 0.1}},
    # ProxylessNAS (Cai et al. 2019): Adam(1e-3, betas (0, 0.999)) for α, no α weight decay
    "proxyless": {"arch_lr": 1e-3, "arch_betas": (0.0, 0.999), "arch_weight_decay": 0.0},
    # binary gates family: ProxylessNAS' α optimiser (Cai et al. 2019)
    "binary": {"arch_lr": 1e-3, "arch_betas": (0.0, 0.999), "arch_weight_decay": 0.0},
    "binary-masked": {
        "arch_lr": 1e-3,
        "arch_betas": (0.0, 0.999),
        "arch_weight_decay": 0.0,
        "method_options": {"num_on": 1, "num_eval": 2},
    },
    "moving-average": {"arch_lr": 1e-3, "arch_betas": (0.0, 0.999), "arch_weight_decay": 0.0},
    # PC-DARTS (Xu et al. 2020): K=4, w lr 0.1, batch 256, arch lr 6e-4, 15 warm-up epochs
    "pc-darts": {
        "w_lr": 0.1,
        "batch_size": 256,
        "arch_lr": 6e-4,
        "warmup_epochs": 15,
        "method_options": {"partial_channels": 4},
    },
}


@dataclass(frozen=True)
class SearchConfig:
    """Everything :func:`dnas.search` needs besides the model and the data.

    Attributes
    ----------
    method : str
        Relaxation name (see :func:`dnas.methods`).
    order : {1, 2}
        First- or second-order architecture gradient.
    hypergradient : {"finite-difference", "exact"}
        How the second-order term is computed.
    epochs : int
        Passes of ``steps_per_epoch`` steps (at least 1).
    steps_per_epoch : int or None
        Default: the shorter split's number of batches.
    batch_size : int
        Batch size used when the data are given as ``(X, y)`` tensors.
    w_lr, w_lr_min, w_momentum, w_weight_decay, grad_clip
        Weight optimiser (SGD, cosine schedule per epoch) and gradient-norm clip (None: off).
    arch_optimizer : {"adam", "sgd"}
        Optimiser for α.
    arch_lr, arch_betas, arch_momentum, arch_weight_decay
        Its hyper-parameters (``arch_momentum`` for SGD only).
    arch_weight_decay_df, arch_weight_decay_base : float
        Extra per-candidate decay on α: ``base + df · (parameter count of the candidate)``
        (as AutoRA's architect), pulling expensive candidates' logits towards 0.
    warmup_epochs : int
        Epochs of weight training before α starts moving (PC-DARTS, ProxylessNAS). With
        ``warmup_epochs >= epochs`` α never moves: the search trains weights only and warns (the
        command line refuses it).
    arch_every : int
        Take an α step every ``arch_every`` weight steps.
    method_options : dict
        Keyword arguments of the relaxation (e.g. ``{"tau_max": 10}``).
    robust : str or None
        A collapse-robust method on top of the relaxation (:func:`dnas.robust.robust_methods`:
        ``"beta-darts"``, ``"darts-minus"``, ``"sdarts-rs"``, ``"sdarts-adv"``), with its paper
        preset updated by ``robust_options``.
    select : {"default", "perturbation"}
        The export rule: the relaxation's (or the space's) rule on α, or DARTS-PT's
        perturbation-based selection with its fine-tuning (``select_options``: ``tune_steps``,
        default 5% of the search's steps per decision; ``tune_lr_factor``, default 0.1;
        ``seed`` of the decision order, default the search's; ``labels`` to decide).
    seed : int or None
        Seeds sampling, data order and (restored afterwards) the global RNG: same seed, same CPU
        run, bit for bit. ``None`` leaves everything to the caller's RNG.
    device : str
        ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    progress : bool or None
        Progress bar; ``None``: only when stderr is a terminal.
    cuda_graph : bool
        Replay each iteration from a CUDA graph (:mod:`dnas.bilevel.graphed`; CUDA devices,
        weighted-sum relaxations, one process, no ``cost``): one launch instead of thousands,
        the same arithmetic as eager. Graphs are re-captured at every epoch.
    cost : {"params", "flops", "latency"} or None
        Search under a budget of this cost (:mod:`dnas.cost`): the expected cost under α is
        pulled to ``budget`` by ``cost_weight · φ(log(E/budget))``, reported per epoch
        (``expected_cost``, ``argmax_cost``, ``cost_penalty``), and the exported architecture
        lies within ``budget_tolerance`` of the budget and records its exact cost.
    budget : float or None
        The budget, in parameters, FLOPs per sample, or seconds per batch (latency). A budget
        that no architecture of the model can meet is refused before the first step (a
        ``ValueError`` giving the range the model's architectures cost).
    cost_weight : float
        λ of the penalty.
    cost_penalty : {"abs", "squared", "hinge"}
        φ: two-sided pull, two-sided fading pull, or a cap (:func:`dnas.cost.penalty`).
    budget_tolerance : float
        Relative band around the budget that the exported architecture must reach.
    budget_export : {"one-shot", "probability", "validation"}
        Which in-band architecture a budgeted search exports. ``"one-shot"`` (default): a
        search of the band judged by the trained supernet — the loss on the validation split
        of its weights fixed to each candidate (:func:`dnas.cost.validation_loss`) — starting
        from α's pick and ``export_samples`` (32) uniform draws from the band, then moves of
        one or two labels within the band, ``export_evaluations`` (128) passes over the split
        at most (:meth:`dnas.cost.BudgetPenalty.search`; benchmarks/RESULTS.md §10: it beat
        the random architectures of every band where α's rule did not). The others only move
        an architecture outside the band into it, one label at a time: ``"probability"``
        each time the move that gives up the least α log-probability (no extra passes),
        ``"validation"`` the move whose architecture has the lowest validation loss.
    cost_options : dict
        ``max_combinations``; for latency ``latency_table`` (path), ``latency_device``,
        ``latency_batch_size``, ``latency_repeats``, ``latency_warmup``, ``latency_clock``
        (``"wall"``, or ``"process"`` CPU time on a shared machine), ``latency_rounds``,
        ``latency_statistic`` (``"min"`` or ``"median"``), ``latency_sweeps``,
        ``latency_calibrate``; ``export_samples``, ``export_evaluations`` for
        ``budget_export="one-shot"`` (:func:`dnas.cost.budget.from_options`).
    """

    method: str = "darts"
    order: int = 1
    hypergradient: str = "finite-difference"
    epochs: int = 50
    steps_per_epoch: int | None = None
    batch_size: int = 64
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    arch_optimizer: str = "adam"
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_momentum: float = 0.9
    arch_weight_decay: float = 1e-3
    arch_weight_decay_df: float = 0.0
    arch_weight_decay_base: float = 0.0
    warmup_epochs: int = 0
    arch_every: int = 1
    method_options: Mapping[str, Any] = field(default_factory=dict)
    robust: str | None = None
    robust_options: Mapping[str, Any] = field(default_factory=dict)
    select: str = "default"
    select_options: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = 0
    device: str = "auto"
    progress: bool | None = None
    cuda_graph: bool = False
    cost: str | None = None
    budget: float | None = None
    cost_weight: float = 1.0
    cost_penalty: str = "abs"
    budget_tolerance: float = 0.1
    budget_export: str = "one-shot"
    cost_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choice("method", self.method, methods())
        check_choice("order", self.order, (1, 2))
        check_choice("hypergradient", self.hypergradient, MODES)
        check_choice("arch_optimizer", self.arch_optimizer, ("adam", "sgd"))
        check_int("epochs", self.epochs, 1)  # 0 would export the random initial α
        check_int("batch_size", self.batch_size, 1)
        check_int("warmup_epochs", self.warmup_epochs, 0)
        check_int("arch_every", self.arch_every, 1)
        check_int("steps_per_epoch", self.steps_per_epoch, 1, none_ok=True)
        # float32 arithmetic: beyond FLOAT32_MAX a rate or decay is inf at the first step
        for name in ("w_lr", "w_lr_min", "arch_lr", "w_weight_decay", "arch_weight_decay",
                     "arch_weight_decay_df", "arch_weight_decay_base"):
            check_float(name, getattr(self, name), 0, FLOAT32_MAX)
        for name in ("w_momentum", "arch_momentum"):  # above 1 the velocity grows geometrically
            check_float(name, getattr(self, name), 0, 1)
        check_float("grad_clip", self.grad_clip, 0, FLOAT32_MAX, low_open=True, none_ok=True)
        betas = self.arch_betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ParameterError(f"arch_betas={betas!r} must be two numbers in [0, 1)")
        for b in betas:
            check_float("arch_betas", b, 0, 1, high_open=True)
        if self.arch_optimizer == "adam":  # Adam's step is arch_lr / (1 - β1^t) <= FLOAT32_MAX
            check_float("arch_lr", self.arch_lr, 0, FLOAT32_MAX * (1 - float(betas[0])))
        if not isinstance(self.device, str):
            raise ParameterError(
                f"device={self.device!r} must be a string such as 'auto', 'cpu' or 'cuda:0'"
            )
        check_bool("progress", self.progress) if self.progress is not None else None
        check_bool("cuda_graph", self.cuda_graph)
        check_seed("seed", self.seed, none_ok=True)
        object.__setattr__(self, "arch_betas", tuple(float(b) for b in betas))
        object.__setattr__(self, "method_options",
                           check_mapping("method_options", self.method_options))
        for name in ("order", "epochs", "steps_per_epoch", "batch_size", "warmup_epochs",
                     "arch_every", "seed"):  # NumPy integers as Python ints (torch wants those)
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        self._check_robust()
        self._check_cost()

    def _check_robust(self) -> None:
        from dnas.robust import SELECTIONS, create, robust_methods  # imports relaxations too

        check_choice("robust", self.robust, (None, *robust_methods()))
        check_choice("select", self.select, SELECTIONS)
        for name in ("robust_options", "select_options"):
            if not isinstance(getattr(self, name), Mapping):
                raise ParameterError(f"{name}={getattr(self, name)!r} must be a mapping")
            object.__setattr__(self, name, dict(getattr(self, name)))
        # options that nothing would read are refused, not silently dropped
        if self.robust is None and self.robust_options:
            raise ValueError(f"robust_options={self.robust_options!r} need a robust method: set "
                             f"robust= one of {', '.join(robust_methods())}")
        if self.select == "default" and self.select_options:
            raise ValueError(f"select_options={self.select_options!r} are DARTS-PT's options: "
                             "they need select='perturbation' (select='default' takes none)")
        if self.robust is not None:
            create(self.robust, **self.robust_options)  # its options checked now, not later
        # checked here, not when the search ends and selection starts
        import inspect

        from dnas.robust.perturbation import project  # local: it imports the loop's parts

        options = self.select_options
        # project()'s keyword options (searcher and data are what select_architecture passes)
        valid = sorted(set(inspect.signature(project).parameters) - {"searcher", "valid"})
        bad = sorted(map(str, set(options) - set(valid)))
        if bad:
            raise ValueError(f"unknown select_options {bad}; valid: {valid}")
        check_int("select_options['seed']", options.get("seed", 0), 0)
        check_int("select_options['tune_steps']", options.get("tune_steps", 0), 0)
        check_float("select_options['tune_lr_factor']", options.get("tune_lr_factor", 0.1), 0,
                    FLOAT32_MAX)
        labels = options.get("labels", [])
        if (isinstance(labels, str) or not isinstance(labels, (list, tuple))
                or not all(isinstance(k, str) for k in labels)):
            raise ParameterError(f"select_options['labels']={labels!r} must be a list of labels")

    def _check_cost(self) -> None:
        # local: the cost package imports the loop's parts
        from dnas.cost import EXPORTS, KINDS, PENALTIES

        if self.cost is not None:
            check_choice("cost", self.cost, KINDS)
            if self.budget is None:
                raise ValueError(f"cost={self.cost!r} needs a budget (budget=...)")
        elif self.budget is not None:
            raise ValueError(
                f"budget={self.budget!r} needs cost='params', 'flops' or 'latency' (cost=...)"
            )
        check_float("budget", self.budget, 0, low_open=True, none_ok=True)
        check_float("cost_weight", self.cost_weight, 0, FLOAT32_MAX)  # scales a float32 loss
        check_choice("cost_penalty", self.cost_penalty, PENALTIES)
        check_float("budget_tolerance", self.budget_tolerance, 0, 1, high_open=True)
        check_choice("budget_export", self.budget_export, EXPORTS)
        if not isinstance(self.cost_options, Mapping):
            raise ParameterError(f"cost_options={self.cost_options!r} must be a mapping")
        object.__setattr__(self, "cost_options", dict(self.cost_options))
        for key, low in _COST_COUNTS.items():
            if key in self.cost_options:
                check_int(f"cost_options[{key!r}]", self.cost_options[key], low)

    @classmethod
    def for_method(cls, method: str = "darts", **overrides: Any) -> SearchConfig:
        """The DARTS defaults, then ``method``'s paper preset, then ``overrides``."""
        check_choice("method", method, methods())
        known = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(f"unknown search option(s) {bad}; valid options: {sorted(known)}")
        values: dict[str, Any] = dict(PRESETS.get(method, {}))
        options = dict(values.pop("method_options", {}))
        options.update(overrides.pop("method_options", None) or {})
        values.update(overrides)
        return cls(method=method, method_options=options, **values)

    def replace(self, **changes: Any) -> SearchConfig:
        """A copy with ``changes`` applied (no preset is applied: the fields are set as given)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists for tuples), as a run folder's ``config.yaml`` holds it."""
        d = dataclasses.asdict(self)
        d["arch_betas"] = list(self.arch_betas)
        return d


def resolve_config(
    config: SearchConfig | None, options: Mapping[str, Any], caller: str = "search()"
) -> SearchConfig:
    """The one way into a search: either a complete ``config`` or keyword ``options``.

    Options alone build ``SearchConfig.for_method(method, **options)`` (``method`` defaults to
    ``"darts"``), so the method's paper preset applies. Both together raise ``TypeError`` naming
    the clashing options: a config is never silently edited, nor an option silently dropped.
    """
    if config is None:
        rest = dict(options)
        return SearchConfig.for_method(rest.pop("method", "darts"), **rest)
    if not isinstance(config, SearchConfig):
        raise TypeError(f"config must be a SearchConfig, got {type(config).__name__}")
    if options:
        given = ", ".join(f"{k}={v!r}" for k, v in options.items())
        raise TypeError(
            f"{caller} takes either config= or keyword options, not both: got config= "
            f"(method={config.method!r}) and {given}; change the config with "
            f"config.replace({given}), or drop config= to start from the method's preset"
        )
    return config
