"""The front door: :func:`search` builds a :class:`SearchConfig` and runs a :class:`Searcher`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dnas.bilevel.config import SearchConfig, resolve_config
from dnas.bilevel.loop import LossFn, Searcher
from dnas.bilevel.result import SearchResult
from dnas.relaxations import Relaxation
from dnas.runtime.callbacks import Callback


def search(
    model: nn.Module,
    train: Any,
    valid: Any,
    *,
    method: str | None = None,
    order: int | None = None,
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
    method : str, optional
        Relaxation (see :func:`dnas.methods`), default ``"darts"``; the paper's preset is applied
        (:data:`dnas.PRESETS`), then the other options.
    order : {1, 2}, optional
        First- (default) or second-order architecture gradient.
    epochs : int, optional
        Default 50 (DARTS).
    loss_fn : callable, optional
        ``loss_fn(output, target)``; default cross-entropy for integer targets, MSE otherwise.
    config : SearchConfig, optional
        A complete configuration, used as it is. Either ``config`` or the keyword options
        (``method``, ``order``, ``epochs``, ``**options``), never both: giving both raises
        ``TypeError`` naming the clash (change a config with ``config.replace(...)``).
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
    given = {k: v for k, v in (("method", method), ("order", order), ("epochs", epochs))
             if v is not None}
    config = resolve_config(config, {**given, **options}, "search()")
    return Searcher(
        model, train, valid, config, loss_fn=loss_fn, callbacks=callbacks,
        per_label=per_label, augment=augment,
    ).run()
