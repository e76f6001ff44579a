"""Checking that a checkpoint fits the loop it is loaded into, before anything is changed.

A loop's checkpoint holds its configuration (``state["config"]``) beside the weights and the
position. Loading one into a loop checks, and names in one ``ValueError``:

* the model: every tensor of the saved ``state["model"]`` present here with the same shape, and
  nothing here missing from it (other channels, layers, data or method);
* the position: ``epoch`` an integer in ``[0, epochs]``, ``step`` in ``[0, steps_per_epoch]``,
  one history row per finished epoch;
* the configuration: options that make the saved state meaningless here (the method, the batch
  size the data streams' positions count in...) must be equal; other changed options are
  returned, for the loop to warn that the result will differ from an uninterrupted run.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import torch


def _shapes(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}


def check_model_fits(saved: Any, model_state: Mapping[str, Any], what: str) -> None:
    """``ValueError`` naming the tensors of ``saved`` that ``model_state`` lacks, has extra or
    holds in another shape."""
    if not isinstance(saved, Mapping):
        raise ValueError(f"{what} has no model state (its 'model' is a {type(saved).__name__})")
    old, new = _shapes(saved), _shapes(model_state)
    problems = []
    missing = sorted(set(new) - set(old))
    extra = sorted(set(old) - set(new))
    # a tensor with no elements here is state shaped lazily, by the first forward or by the
    # checkpoint (the moving-average relaxation's running means): it takes the saved shape
    changed = [(k, old[k], new[k]) for k in old
               if k in new and old[k] != new[k] and 0 not in new[k]]
    if changed:
        k, a, b = changed[0]
        problems.append(f"{len(changed)} tensor(s) differ in shape, e.g. {k!r}: {a} in the "
                        f"checkpoint, {b} here")
    if missing:
        problems.append(f"{len(missing)} tensor(s) of this model are not in it, e.g. "
                        f"{missing[0]!r}")
    if extra:
        problems.append(f"{len(extra)} tensor(s) in it are not in this model, e.g. {extra[0]!r}")
    if problems:
        raise ValueError(f"{what} does not fit this model (other channels, layers, data or "
                         f"method?): {'; '.join(problems)}")


def _position(state: Mapping[str, Any], key: str, high: int, what: str) -> int:
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            0 <= int(value) <= high):
        raise ValueError(f"{what} holds {key}={value!r}, which must be an integer in [0, {high}] "
                         "for this run")
    return int(value)


def check_resume(
    state: Mapping[str, Any],
    *,
    model_state: Mapping[str, Any],
    config: Mapping[str, Any],
    epochs: int,
    steps_per_epoch: int,
    structural: Iterable[str] = (),
    what: str = "checkpoint",
) -> list[str]:
    """Check ``state`` against the loop it is loaded into (see the module docstring).

    Parameters
    ----------
    state : mapping
        The checkpoint.
    model_state : mapping
        ``model.state_dict()`` of the loop.
    config : mapping
        The loop's configuration as plain data (``config.to_dict()``).
    epochs, steps_per_epoch : int
        The loop's length.
    structural : iterable of str
        Options that must be equal.
    what : str
        Names the checkpoint in messages.

    Returns
    -------
    list of str
        ``"name: saved -> now"`` for every other option that changed.
    """
    check_model_fits(state.get("model"), model_state, what)
    epoch = _position(state, "epoch", epochs, what)
    _position(state, "step", steps_per_epoch, what)
    history = state.get("history", [])
    if not isinstance(history, list) or len(history) != epoch:
        n = len(history) if isinstance(history, list) else type(history).__name__
        raise ValueError(f"{what} is at epoch {epoch} but holds {n} history rows; it is damaged")
    saved = state.get("config")
    if not isinstance(saved, Mapping):  # written before checkpoints held their configuration
        return []
    clashes = [k for k in structural if k in saved and saved[k] != config.get(k)]
    if clashes:
        shown = ", ".join(f"{k}={saved[k]!r} there, {config.get(k)!r} here" for k in clashes)
        raise ValueError(f"{what} was written with other options: {shown}; resume with the same "
                         "options or start afresh")
    return [f"{k}: {saved[k]!r} -> {config.get(k)!r}" for k in sorted(saved)
            if k in config and saved[k] != config[k]]


__all__ = ["check_model_fits", "check_resume"]
