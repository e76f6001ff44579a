"""Checking, during one forward pass, that the candidates of each choice agree in shape.

The outputs of a :class:`~dnas.LayerChoice`'s candidates are mixed (summed with weights), and any
of them may be the one exported, so they must have one shape; the inputs of an
:class:`~dnas.InputChoice` likewise. A weighted sum of tensors of different shapes either fails
deep inside torch or, worse, broadcasts silently ((B, 8) + (B, 1)). :class:`ShapeRecorder` hooks
every choice and candidate for one forward pass: it records each candidate's output shape as the
relaxation calls it (on whatever input the relaxation gives it, e.g. PC-DARTS' channel share),
runs the candidates a sampling relaxation skipped on the input their sibling received, and names
the label, where it lives and every candidate's shape when they differ.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dnas.space.binding import choices
from dnas.space.modules import InputChoice, LayerChoice


class ShapeMismatch(ValueError):
    """Candidates (or inputs) of one choice differ in shape."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type when it has none, prefixed by it when
    it is not one of torch's usual ValueError, RuntimeError, TypeError, IndexError)."""
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    usual = isinstance(err, (ValueError, RuntimeError, TypeError, IndexError))
    return line if usual or not text else f"{type(err).__name__}: {line}"


def shape_of(out: Any) -> Any:
    """The shape of a tensor, or the shapes in a tuple/list of them, for messages."""
    if isinstance(out, torch.Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return type(out)(shape_of(o) for o in out)
    return type(out).__name__


class ShapeRecorder:
    """Hooks on every choice of ``model`` and its candidates, for one forward pass; use
    :meth:`check` after it (or after it failed) and :meth:`remove` in any case."""

    def __init__(self, model: nn.Module) -> None:
        self.where = {id(c): name or "<model>" for name, c in choices(model)}
        self.layers: list[LayerChoice] = []
        self.first_input: dict[int, tuple[tuple, dict]] = {}
        self.shapes: dict[int, dict[str, Any]] = {}
        self.handles: list[Any] = []
        for _, c in choices(model):
            if isinstance(c, LayerChoice):
                self.layers.append(c)
                for name, op in c.candidates.items():
                    self.handles.append(op.register_forward_pre_hook(
                        self._pre(c), with_kwargs=True))
                    self.handles.append(op.register_forward_hook(self._post(c, name)))
            elif isinstance(c, InputChoice):
                self.handles.append(c.register_forward_pre_hook(self._inputs))

    def _pre(self, choice: LayerChoice) -> Any:
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            self.first_input.setdefault(id(choice), (args, kwargs))
        return hook

    def _post(self, choice: LayerChoice, name: str) -> Any:
        def hook(module: nn.Module, args: tuple, out: Any) -> None:
            self.shapes.setdefault(id(choice), {}).setdefault(name, shape_of(out))
        return hook

    def _inputs(self, module: nn.Module, args: tuple) -> None:
        inputs = args[0] if args else ()
        shapes = [shape_of(t) for t in inputs]
        if len(set(map(repr, shapes))) > 1:
            listed = ", ".join(f"input {i}: {s}" for i, s in enumerate(shapes))
            label = getattr(module, "label", "?")
            raise ShapeMismatch(
                f"InputChoice {label!r} (at {self.where[id(module)]}) receives inputs of "
                f"different shapes ({listed}); every input of a choice must have the same shape"
            )

    def check(self) -> str:
        """Raise :class:`ShapeMismatch` when the candidates of a choice called in the pass give
        different shapes; return the first failure of a candidate run here, else ``""``."""
        for choice in self.layers:
            if id(choice) not in self.first_input:
                continue  # never called in this pass
            shapes = self.shapes.setdefault(id(choice), {})
            args, kwargs = self.first_input[id(choice)]
            for name, op in choice.candidates.items():
                if name in shapes:
                    continue
                try:  # a candidate the relaxation did not run: on its sibling's input
                    with torch.no_grad():
                        shapes[name] = shape_of(op(*args, **kwargs))
                except (RuntimeError, TypeError, ValueError, IndexError) as err:
                    return (f"candidate {name!r} of LayerChoice {choice.label!r} (at "
                            f"{self.where[id(choice)]}) fails on its input {shape_of(args)}: "
                            f"{first_line(err)}")
            if len(set(map(repr, shapes.values()))) > 1:
                listed = ", ".join(f"{n!r} -> {shapes[n]}" for n in choice.candidates
                                   if n in shapes)
                raise ShapeMismatch(
                    f"the candidates of LayerChoice {choice.label!r} (at "
                    f"{self.where[id(choice)]}) give outputs of different shapes: {listed}; "
                    "every candidate of a choice must give the same shape (their outputs are "
                    "mixed, and any of them may be chosen)"
                )
        return ""

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


__all__ = ["ShapeMismatch", "ShapeRecorder", "first_line", "shape_of"]
