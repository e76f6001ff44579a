"""DARTSRegressor's parameters: validation, and their translation into one :class:`SearchConfig`.

AutoRA's loop runs, per epoch, ``arch_updates_per_epoch`` α steps and then
``param_updates_per_epoch`` coefficient steps. The core loop interleaves them: an epoch has
``max(param, arch)`` steps, each a coefficient step, with an α step every
``steps // arch_updates_per_epoch`` of them (so the counts per epoch match AutoRA's whenever
``arch <= param``). The coefficient learning rate is cosine-annealed over the epochs (AutoRA
anneals within each epoch).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from dnas.bilevel.config import SearchConfig
from dnas.relaxations.registry import methods
from dnas.runtime.checks import (
    SEED_MAX,
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from dnas.runtime.device import resolve_device
from dnas.spaces.expression.network import NODE_OPS
from dnas.spaces.expression.primitives import check_primitives

OUTPUT_TYPES = ("real", "sigmoid", "probability", "probability_sample", "probability_distribution")
DARTS_TYPES = {"original": "darts", "fair": "fair-darts"}


def check_options(est: Any) -> dict[str, Any]:
    """Validate every parameter of ``est``; return the normalised ones."""
    for name in ("param_updates_per_epoch", "max_epochs", "arch_updates_per_epoch",
                 "param_updates_for_sampled_model"):
        check_int(name, getattr(est, name), 1 if name == "param_updates_per_epoch" else 0)
    check_int("num_graph_nodes", est.num_graph_nodes, 1, none_ok=True)
    check_int("batch_size", est.batch_size, 1, none_ok=True)
    check_int("patience", est.patience, 0, none_ok=True)
    for name in ("param_learning_rate_max", "param_learning_rate_min", "param_momentum",
                 "param_weight_decay", "arch_learning_rate_max", "arch_weight_decay",
                 "arch_weight_decay_df", "arch_weight_decay_base", "fair_darts_loss_weight"):
        check_float(name, getattr(est, name), 0)
    check_float("grad_clip", est.grad_clip, 0, low_open=True)
    check_float("tol", est.tol, 0)
    check_float("arch_momentum", est.arch_momentum, 0, 1, high_open=True)
    check_choice("output_type", est.output_type, OUTPUT_TYPES)
    if est.output_type == "probability_distribution":
        raise ValueError(
            "output_type='probability_distribution' is a softmax over several outputs; this "
            "estimator fits a single output: use 'probability' (one logistic output) instead"
        )
    check_choice("darts_type", est.darts_type, DARTS_TYPES)
    method = check_choice("method", est.method, [None, *methods()])
    method = method if method is not None else DARTS_TYPES[est.darts_type]
    check_choice("sampling_strategy", est.sampling_strategy, ("max", "sample"))
    check_choice("warm_start", est.warm_start, (True, False, "auto"))
    for name in ("refine", "train_classifier_coefficients", "train_classifier_bias"):
        value = getattr(est, name)
        if isinstance(value, numbers.Integral) and value in (0, 1):  # 0/1 as sklearn does
            continue
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{name}={value!r} must be True or False (or 0 or 1)")
        check_bool(name, value)
    if not (est.random_state is None or isinstance(est.random_state, np.random.RandomState)):
        try:
            check_seed("random_state", est.random_state)
        except ValueError:
            raise ParameterError(
                f"random_state={est.random_state!r} must be None, an integer in "
                f"[0, {SEED_MAX}] or a numpy.random.RandomState"
            ) from None
    primitives = check_primitives(est.primitives)
    if isinstance(est.node_ops, str) or not isinstance(est.node_ops, Iterable):
        raise ValueError(f"node_ops={est.node_ops!r} must be a list of names from {NODE_OPS}")
    node_ops = tuple(est.node_ops)
    known = all(isinstance(o, str) and o in NODE_OPS for o in node_ops)
    if not node_ops or not known or len(set(node_ops)) != len(node_ops):
        raise ValueError(f"node_ops={list(node_ops)!r} must be distinct names from {NODE_OPS}")
    device = resolve_device(est.device)  # its error names device= and the value
    return {
        "method": method,
        "primitives": primitives,
        "node_ops": node_ops,
        "output_type": est.output_type,
        "sampling_strategy": est.sampling_strategy,
        "device": device,
    }


def search_config(est: Any, opts: dict[str, Any], n_rows: int, seed: int) -> SearchConfig:
    """The :class:`SearchConfig` that runs ``est``'s search (see the module docstring)."""
    arch_steps = int(est.arch_updates_per_epoch)
    steps = max(int(est.param_updates_per_epoch), arch_steps)
    options: dict[str, Any] = {}
    if opts["method"] == "fair-darts":
        options["method_options"] = {"zero_one_weight": float(est.fair_darts_loss_weight)}
    return SearchConfig.for_method(
        opts["method"],
        epochs=int(est.max_epochs),
        steps_per_epoch=steps,
        batch_size=n_rows if est.batch_size is None else int(est.batch_size),
        w_lr=float(est.param_learning_rate_max),
        w_lr_min=float(est.param_learning_rate_min),
        w_momentum=float(est.param_momentum),
        w_weight_decay=float(est.param_weight_decay),
        grad_clip=float(est.grad_clip),
        arch_optimizer="adam",
        arch_lr=float(est.arch_learning_rate_max),
        arch_betas=(float(est.arch_momentum), 0.999),
        arch_weight_decay=float(est.arch_weight_decay),
        arch_weight_decay_df=float(est.arch_weight_decay_df),
        arch_weight_decay_base=float(est.arch_weight_decay_base),
        # no α step at all when arch_updates_per_epoch == 0: every epoch is a warm-up epoch
        warmup_epochs=int(est.max_epochs) if arch_steps == 0 else 0,
        arch_every=max(1, steps // max(arch_steps, 1)),
        seed=seed,
        device=str(opts["device"]),
        progress=False,
        **options,
    )


__all__ = ["DARTS_TYPES", "OUTPUT_TYPES", "check_options", "search_config"]
