"""Stopping a run at the first NaN or infinity, and never writing one.

A loop :meth:`~FiniteGuard.watch`-es the scalars it computes anyway (the loss, the gradient norm
that clipping computes, α after its step); watching only keeps a reference. At the step's end,
:meth:`~FiniteGuard.check` reads them all at once (on an accelerator: one sum per
quantity, stacked and copied to the host, the step's one sync; on the CPU, where a read costs
nothing: directly) and raises :class:`NonFiniteError` naming the step, the epoch, the first
non-finite quantity and its likely cause. The loop checks before its callbacks, so a checkpoint
is never written from a bad step; :func:`check_state` is the last line of defence, run on every
state a checkpoint writes or reads. :func:`check_data` refuses NaN/inf in data up front, with the
count and the first position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch


class NonFiniteError(ValueError):
    """A loss, gradient, parameter or input became NaN or infinite; the run stopped there.

    A ``ValueError`` (the command line reports it in one line with exit status 2).

    Attributes
    ----------
    quantity : str
        What was not finite (``"training loss"``, ``"weights"``...).
    epoch, step : int or None
        Where (1-based, as shown), when known.
    """

    def __init__(self, message: str, quantity: str = "", epoch: int | None = None,
                 step: int | None = None) -> None:
        super().__init__(message)
        self.quantity = quantity
        self.epoch = epoch
        self.step = step


def _as_float(t: torch.Tensor) -> str:
    bad = t.detach().reshape(-1)
    bad = bad[~torch.isfinite(bad)]
    return f"{bad[0].item()}" if bad.numel() else "non-finite"


class FiniteGuard:
    """Watches the quantities of each step; raises at the first step where one is not finite.

    Parameters
    ----------
    loop : str
        What runs, for messages (``"search"``, ``"retraining"``).
    causes : mapping of str to str
        Likely cause per quantity, shown when it goes non-finite after the run made progress
        (``{"training loss": "the weight learning rate w_lr=1e+30 is too large ..."}``).
    first_step_causes : mapping of str to str
        Shown instead for quantities computed before any update of a fresh run's first step:
        then the data, the model or the loss produce it, not an optimiser.

    Examples
    --------
    >>> guard = FiniteGuard("search", {"training loss": "w_lr too large"})  # doctest: +SKIP
    >>> guard.watch("training loss", loss); guard.check(epoch=0, step=3)    # doctest: +SKIP
    """

    def __init__(self, loop: str, causes: Mapping[str, str] | None = None,
                 first_step_causes: Mapping[str, str] | None = None) -> None:
        self.loop = loop
        self.causes = dict(causes or {})
        self.first_step_causes = dict(first_step_causes or {})
        self._watched: list[tuple[str, torch.Tensor]] = []
        self.checked_steps = 0

    def watch(self, quantity: str, value: torch.Tensor | float | None) -> None:
        """Keep ``value`` (a tensor of any shape, or a number) for the next :meth:`check`; no
        computation happens here. Do not change the tensor in place before the check."""
        if value is None:
            return
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(float(value))
        self._watched.append((quantity, value.detach()))

    def check(
        self,
        *,
        epoch: int,
        step: int,
        fresh: bool = False,
        reduce: Callable[[list[torch.Tensor]], None] | None = None,
    ) -> None:
        """Raise :class:`NonFiniteError` when a quantity watched since the last check was not
        finite (0-based ``epoch`` / ``step``, shown 1-based).

        ``fresh``: this was the first step of a run that had not updated anything yet.
        ``reduce``: sums a list of tensors over processes in place (a multi-process run stops on
        every process together when one of them sees a non-finite value).
        """
        watched, self._watched = self._watched, []
        if not watched:
            return
        self.checked_steps += 1
        # a sum per quantity: NaN and ±inf survive it (a sum of finite values overflows only
        # when they are near the float's limit, i.e. already diverging); torch.isfinite is
        # several kernels, a sum one
        if reduce is None and all(v.device.type == "cpu" for _, v in watched):
            # on the CPU a read costs nothing: each value directly
            flags = [math.isfinite(v.item() if v.numel() == 1 else float(v.sum()))
                     for _, v in watched]
        else:  # one stack, one isfinite, one copy to the host: the step's one sync
            sums = torch.stack([v.sum().float() for _, v in watched])
            bad = (~torch.isfinite(sums)).to(torch.float32)
            if reduce is not None:
                reduce([bad])
            flags = (bad == 0).tolist()
        if all(flags):
            return
        quantity, value = next((q, v) for (q, v), ok in zip(watched, flags) if not ok)
        local = not bool(torch.isfinite(value).all())
        shown = _as_float(value) if local else "non-finite on another process"
        cause = (self.first_step_causes.get(quantity) if fresh else None) or self.causes.get(
            quantity, "")
        raise NonFiniteError(
            f"{self.loop} stopped at epoch {epoch + 1}, step {step + 1}: the {quantity} is "
            f"{shown}" + (f". Likely cause: {cause}" if cause else "")
            + ". Nothing from this step was saved; the last checkpoint, if any, is the state "
            "before it",
            quantity, epoch + 1, step + 1,
        )


def _tensors(state: Any, path: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    stack: list[tuple[str, Any]] = [(path, state)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, torch.Tensor):
            yield where, value
        elif isinstance(value, Mapping):
            stack.extend((f"{where}[{k!r}]" if where else str(k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))


def non_finite_tensors(state: Any) -> list[tuple[str, int, int]]:
    """``[(location, non-finite count, size)]`` of every floating tensor in a nested state."""
    found = []
    for where, t in _tensors(state):
        if t.is_floating_point() or t.is_complex():
            count = int((~torch.isfinite(t)).sum())
            if count:
                found.append((where, count, t.numel()))
    return sorted(found)


def check_state(state: Any, what: str) -> None:
    """Raise :class:`NonFiniteError` when a floating tensor of ``state`` holds NaN or infinity.

    ``what`` names the state in the message (``"checkpoint 'runs/x/checkpoints/last.pt'"``).
    """
    bad = non_finite_tensors(state)
    if bad:
        shown = ", ".join(f"{w} ({c} of {n})" for w, c, n in bad[:3])
        more = f" and {len(bad) - 3} more tensors" if len(bad) > 3 else ""
        raise NonFiniteError(f"{what} holds NaN or infinite values: {shown}{more}",
                             "state")


def _position(index: tuple[int, ...]) -> str:
    if not index:
        return "its only entry"
    if len(index) == 1:
        return f"sample {index[0]}"
    rest = index[1] if len(index) == 2 else index[1:]
    return f"sample {index[0]}, position {rest}"


def check_data(t: Any, where: str) -> None:
    """Raise ``ValueError`` when the floating tensor ``t`` holds NaN or infinite values, with
    their count and the first one's position (``"train X holds 3 NaN or infinite value(s); the
    first is nan at sample 7, position 2"``). Integer tensors always pass."""
    if not isinstance(t, torch.Tensor) or not (t.is_floating_point() or t.is_complex()):
        return
    bad = ~torch.isfinite(t)
    count = int(bad.sum())
    if count:
        first = tuple(int(i) for i in bad.nonzero()[0].tolist())
        raise ValueError(
            f"{where} holds {count} NaN or infinite value(s); the first is "
            f"{t[first].item()} at {_position(first)}: fill or drop them first"
        )


__all__ = ["FiniteGuard", "NonFiniteError", "check_data", "check_state", "non_finite_tensors"]
