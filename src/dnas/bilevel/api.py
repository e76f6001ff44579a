"""The front door: :func:`search` builds a :class:`SearchConfig` and runs a :class:`Searcher`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dnas.bilevel.config import SearchConfig
from dnas.bilevel.loop import LossFn, Searcher
from dnas.bilevel.result import Callback, SearchResult
from dnas.relaxations import Relaxation


def search(
    model: nn.Module,
    train: Any,
    valid: Any,
    *,
    method: str = "darts",
    order: int = 1,
    epochs: int | None = None,
    loss_fn: LossFn | None = None,
    config: SearchConfig | None = None,
    callbacks: Iterable[Callback] = (),
    per_label: Mapping[str, str | Relaxation] | None = None,
    augment: Callable[..., torch.Tensor] | None = None,
    **options: Any,
) -> SearchResult:
    """Search the architecture of ``model`` on ``train`` (weights) and ``valid`` (α).

    Parameters
    ----------
    model : nn.Module
        Any module containing :class:`~dnas.LayerChoice` / :class:`~dnas.InputChoice`; it is
        relaxed and trained in place.
    train, valid
        DataLoaders, iterables of ``(x, y)`` batches, or ``(X, y)`` tensor pairs.
    method : str, default "darts"
        Relaxation (see :func:`dnas.methods`); the paper's preset is applied.
    order : {1, 2}
        First- or second-order architecture gradient.
    epochs : int, optional
        Default 50 (DARTS).
    loss_fn : callable, optional
        ``loss_fn(output, target)``; default cross-entropy for integer targets, MSE otherwise.
    config : SearchConfig, optional
        A complete configuration; when given, ``method``, ``order``, ``epochs`` and ``options``
        must not contradict it (pass them through the config instead).
    callbacks : iterable of Callback
        Step/epoch hooks.
    per_label : dict, optional
        ``{label: method}`` overrides.
    augment : callable, optional
        ``augment(x, generator=g)`` applied on the device to every training and validation batch,
        e.g. ``dnas.data.Augment(crop_padding=4)`` (DARTS' CIFAR-10 search: crop + flip).
    **options
        Any other :class:`SearchConfig` field (``w_lr=0.05``, ``seed=1``, ``batch_size=32``...).

    Returns
    -------
    SearchResult
    """
    if config is None:
        overrides = dict(options, order=order)
        if epochs is not None:
            overrides["epochs"] = epochs
        config = SearchConfig.for_method(method, **overrides)
    elif options or epochs is not None or method != config.method or order != config.order:
        changes = dict(options)
        if epochs is not None:
            changes["epochs"] = epochs
        if method != "darts":
            changes["method"] = method
        if order != 1:
            changes["order"] = order
        config = config.replace(**changes)
    return Searcher(
        model, train, valid, config, loss_fn=loss_fn, callbacks=list(callbacks),
        per_label=per_label, augment=augment,
    ).run()
