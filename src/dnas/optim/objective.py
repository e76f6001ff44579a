"""The bilevel objective L(w, α) on one batch, as a pure function of dicts of tensors.

DARTS (Liu et al., 2019) evaluates the same network at several points — (w, α), (w', α),
(w ± εv, α) — in one architecture step. :class:`Objective` does so with
``torch.func.functional_call``: the model is never copied, no ``.data`` is edited, and buffers
(BatchNorm running statistics) go in as clones, so no pass made here changes them. With
``regularize=True`` the relaxation's own term of the architecture objective is added, e.g. Fair
DARTS' zero-one loss or DrNAS' KL term.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from dnas.space.binding import arch_groups, named_arch_parameters, named_weight_parameters

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[Any, torch.Tensor], torch.Tensor]


class Objective:
    """L(w, α) on one batch, as a pure function of dicts of tensors.

    Built once per model (the search loop keeps one): it resolves parameter names, labels and
    buffers up front so that a step does no module-tree walks.

    Parameters
    ----------
    model : nn.Module
        The search model (choices relaxed).
    loss_fn : callable
        ``loss_fn(model_output, target) -> scalar``.

    Attributes
    ----------
    alphas : dict[str, nn.Parameter]
        α per label.
    w_params : dict[str, nn.Parameter]
        The trainable weights, by qualified name.
    last_valid : (Tensor, output) or None
        The detached loss and output of the last ``regularize=True`` pass (the validation pass).
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.groups = arch_groups(model)
        named_alpha = named_arch_parameters(model)
        self.labels = list(named_alpha)
        self.alpha_names = {label: named_alpha[label][0] for label in self.labels}
        self.alphas = {label: named_alpha[label][1] for label in self.labels}
        self.w_params = {n: p for n, p in named_weight_parameters(model).items() if p.requires_grad}
        self.buffers = dict(model.named_buffers())
        self._buffer_groups = _clone_groups(list(self.buffers.values()))
        self._aliases = tied_slots(model)
        self.last_valid: tuple[torch.Tensor, Any] | None = None

    def loss(
        self,
        w: dict[str, torch.Tensor],
        alpha: dict[str, torch.Tensor],
        batch: Batch,
        regularize: bool = False,
    ) -> torch.Tensor:
        """``loss_fn(model(x; w, α), y)``, plus the relaxations' regularisers if ``regularize``."""
        x, y = batch
        # buffers go in as clones: BatchNorm updates its running statistics in the clones only
        state: dict[str, torch.Tensor] = dict(zip(self.buffers, self._clone_buffers()))
        state.update(w)
        state.update({self.alpha_names[k]: a for k, a in alpha.items()})
        for name, others in self._aliases.items():  # tied tensors: every slot gets the value
            if name in state:
                state.update(dict.fromkeys(others, state[name]))
        # tie_weights=False: each (module, attribute) slot is swapped exactly once. With torch's
        # default (True) a module registered under several paths (the ArchParams every choice of a
        # label shares) is swapped once per path, and restoring in the same order leaves the
        # module holding the substituted tensor instead of its Parameter.
        out = functional_call(self.model, state, (x,), tie_weights=False)
        loss = self.loss_fn(out, y)
        if regularize:
            self.last_valid = (loss.detach(), _detach_output(out))
            for label, a in alpha.items():
                group = self.groups[label]
                r = group.relaxation.regularizer(a, group)
                if r is not None:
                    loss = loss + r
        return loss

    def _clone_buffers(self) -> list[torch.Tensor]:
        # One multi-tensor kernel per (device, dtype) instead of one clone per buffer: the DARTS
        # supernet has ~2,800 BatchNorm buffers, and on a GPU their clones were ~10% of a
        # first-order α step, all of it kernel launches. x * 1 is an exact copy (ints too).
        tensors = list(self.buffers.values())
        out: list[torch.Tensor] = [None] * len(tensors)  # type: ignore[list-item]
        for indices in self._buffer_groups:
            if len(indices) == 1:
                out[indices[0]] = tensors[indices[0]].clone()
                continue
            for i, t in zip(indices, torch._foreach_mul([tensors[i] for i in indices], 1)):
                out[i] = t
        return out


def tied_slots(model: nn.Module) -> dict[str, list[str]]:
    """Names of the tensors held in more than one module slot, and their other slots.

    A *slot* is one ``(module, attribute)`` pair. A module registered under several paths (a shared
    :class:`~dnas.space.modules.ArchParams`) is one slot seen under many names: it is left out.
    A tensor held by two different modules (tied weights) fills two slots: the first name
    (the one ``named_parameters()`` / ``named_buffers()`` report) maps to the others.
    """
    first: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    others: dict[str, list[str]] = {}
    for prefix, module in model.named_modules(remove_duplicate=False):
        for attr, t in (*module._parameters.items(), *module._buffers.items()):
            if t is None or (id(module), attr) in seen:
                continue
            seen.add((id(module), attr))
            name = f"{prefix}.{attr}" if prefix else attr
            canonical = first.setdefault(id(t), name)
            if canonical != name:
                others.setdefault(canonical, []).append(name)
    return others


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _clone_groups(tensors: list[torch.Tensor]) -> list[list[int]]:
    """Indices of ``tensors`` grouped by (device, dtype); bool and other kinds alone."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, t in enumerate(tensors):
        numeric = (t.is_floating_point() or t.is_complex() or t.dtype in _INT_DTYPES) and not (
            t.requires_grad or t.is_sparse or t.is_quantized
        )
        key = (t.device, t.dtype) if numeric else ("alone", i)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _detach_output(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.detach()
    return type(out)(_detach_output(o) for o in out) if isinstance(out, (tuple, list)) else out


__all__ = ["Batch", "LossFn", "Objective", "tied_slots"]
