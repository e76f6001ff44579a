"""The pre-flight check of a search: the first training and validation batch, looked at once,
before any α or weight step, so that what does not fit is one clear error instead of a trace from
deep inside torch (or, worse, a search that runs and learns nothing).

It checks, in order:

1. the inputs: floating inputs of another dtype than the model's weights are converted to it (with
   one warning; see :func:`input_dtype`), integer inputs are left as they are (token ids);
2. the training batch through the model and the loss: a model that rejects ``x``, candidates of
   one :class:`~dnas.LayerChoice` whose outputs differ in shape (the label, every candidate's
   shape), inputs of one :class:`~dnas.InputChoice` that differ in shape, class targets outside
   the model's outputs, a loss that is not a scalar floating tensor (a Python float included);
3. the validation batch the same way; both losses must be finite (NaN or infinity before any
   step is the data's, the model's or the loss' doing: :class:`~dnas.runtime.finite.NonFiniteError`
   now, with nothing changed); then ∂loss/∂α: a label whose α the loss does not depend on is
   a choice that ``forward`` never reaches (its α could never move), named with where it lives.

Everything runs as the search would run it (training mode), then is put back: the global RNG,
the sampling generator and the last samples, BatchNorm running statistics and every other buffer,
so a run with the check equals one without it, bit for bit, and a resumed run stays exact.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from dnas.bilevel.choice_shapes import ShapeMismatch, ShapeRecorder, first_line, shape_of
from dnas.runtime.finite import NonFiniteError, check_data
from dnas.runtime.loss import default_loss
from dnas.space.binding import choices
from dnas.space.modules import ArchParams, LayerChoice

LossFn = Callable[[Any, torch.Tensor], torch.Tensor]


def weight_dtype(model: nn.Module) -> torch.dtype | None:
    """The floating dtype of every weight of ``model``; None when there are several or none."""
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    return dtypes.pop() if len(dtypes) == 1 else None


def input_dtype(x: torch.Tensor, model: nn.Module, what: str) -> torch.dtype | None:
    """The dtype floating inputs ``x`` must be converted to (None: keep them as they are).

    Floating inputs of another precision than the model's weights (float64 NumPy data for a float32
    model, the common case) are converted to the weights' dtype with one ``UserWarning``: the
    model could not take them otherwise, and computing in the weights' precision is what the user
    asked for by building the model. Integer inputs stay (they may be indices into an embedding).
    """
    target = weight_dtype(model)
    if target is None or not x.is_floating_point() or x.dtype == target:
        return None
    warnings.warn(
        f"{what} inputs are {x.dtype} but the model's weights are {target}: converting the "
        f"inputs to {target} (convert them once beforehand to avoid this)",
        UserWarning, stacklevel=4,
    )
    return target


def as_dtype(batch: tuple[torch.Tensor, torch.Tensor],
             dtype: torch.dtype | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` with floating inputs converted to ``dtype`` (as it is when ``dtype`` is None)."""
    x, y = batch
    return (x.to(dtype) if dtype is not None and x.is_floating_point() else x), y


def prepare_tensors(model: nn.Module, *streams: Any) -> torch.dtype | None:
    """``(X, y)`` tensor streams (:class:`~dnas.runtime.batches.TensorBatches`) made ready once:
    NaN/inf refused with count and position, floating ``X`` converted to the weights' dtype
    (:func:`input_dtype`). Returns that dtype (None: no conversion); other streams are skipped."""
    dtype = None
    for name, stream in zip(("train", "valid"), streams):
        X, y = getattr(stream, "X", None), getattr(stream, "y", None)
        if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
            continue
        check_data(X, f"{name} X")
        check_data(y, f"{name} y")
        to = input_dtype(X, model, name)
        if to is not None:
            stream.X, dtype = X.to(to), to
    return dtype


@contextlib.contextmanager
def _untouched(model: nn.Module, groups: Mapping[str, ArchParams],
               sample_generator: torch.Generator, device: torch.device) -> Iterator[None]:
    """Run a block that leaves no trace: buffers, RNGs and samples are put back afterwards."""
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    samples = {label: g.sample for label, g in groups.items()}
    gen_state = sample_generator.get_state()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            with torch.no_grad():
                for b, saved in buffers:
                    b.copy_(saved)
            sample_generator.set_state(gen_state)
            for label, g in groups.items():
                g.sample = samples[label]


def checked_forward(
    model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, what: str = "training"
) -> tuple[Any, torch.Tensor]:
    """``(model(x), loss_fn(model(x), y))``, raising ``ValueError`` that names what does not fit.

    Raises
    ------
    ValueError
        When the model rejects ``x`` (candidates of one choice with different output shapes are
        named), the loss rejects the output and ``y``, or the loss is not a scalar floating tensor.
    """
    recorder = ShapeRecorder(model)
    try:
        try:
            out = model(x)
        except ShapeMismatch:
            raise
        except Exception as err:  # the user's model: whatever it raises, named in one line
            cause = recorder.check() or first_line(err)
            hint = ""
            if not x.is_floating_point() and weight_dtype(model) is not None:
                hint = (f" (x is {x.dtype} and the weights are {weight_dtype(model)}: convert "
                        "X to a floating dtype unless the inputs are indices)")
            raise ValueError(
                f"the model cannot take the {what} inputs (x: {tuple(x.shape)}, {x.dtype}){hint}: "
                f"{cause}"
            ) from err
        failed = recorder.check()
        if failed:  # the mixture ran, yet a candidate fails on its own: it could be chosen
            raise ValueError(f"the model takes the {what} inputs, but {failed}")
    finally:
        recorder.remove()
    loss = _checked_loss(loss_fn, out, y, what)
    return out, loss


def _checked_loss(loss_fn: LossFn, out: Any, y: torch.Tensor, what: str) -> torch.Tensor:
    # class targets of the default loss or of torch's own classification losses: one line
    # naming the class (torch's own error is deep, and a device-side assert on CUDA)
    class_loss = loss_fn is default_loss or isinstance(loss_fn, (nn.CrossEntropyLoss,
                                                                 nn.NLLLoss))
    if class_loss and not y.is_floating_point():
        logits = out[0] if isinstance(out, (tuple, list)) else out
        if isinstance(logits, torch.Tensor) and logits.dim() == 2:
            check_class_targets(y, logits.shape[1], f"the {what} targets",
                                getattr(loss_fn, "ignore_index", None))
    try:
        loss = loss_fn(out, y)
    except Exception as err:  # the user's loss: whatever it raises, named in one line
        raise ValueError(
            f"loss_fn cannot compare the model output {shape_of(out)} with the {what} targets "
            f"(y: {tuple(y.shape)}, {y.dtype}): {first_line(err)}"
        ) from err
    if not isinstance(loss, torch.Tensor):
        raise ValueError(
            f"loss_fn must return a scalar tensor, got a {type(loss).__name__} ({loss!r:.40}): "
            "a Python number carries no gradient (return the tensor, not .item())"
        )
    if loss.dim() != 0 or not loss.is_floating_point():
        raise ValueError(
            f"loss_fn must return a scalar floating tensor, got shape {tuple(loss.shape)} and "
            f"dtype {loss.dtype} (reduce it, e.g. with .mean())"
        )
    return loss


def check_class_targets(y: torch.Tensor, classes: int, subject: str,
                        ignore_index: int | None = None) -> None:
    """Raise ``ValueError`` when integer targets ``y`` hold a class outside ``0..classes-1``
    (``ignore_index``, a loss's skipped label, aside), naming ``subject`` ("the training
    targets"): torch's own error comes from deep inside the loss (on CUDA, a device assert)."""
    kept = y if ignore_index is None else y[y != ignore_index]
    if kept.numel():
        lo, hi = int(kept.min()), int(kept.max())
        if lo < 0 or hi >= classes:
            raise ValueError(f"{subject} hold class {lo if lo < 0 else hi}, but the model outputs "
                             f"{classes} classes (targets must be 0..{classes - 1})")


def _nested_in_choice(model: nn.Module) -> set[str]:
    """Labels whose every choice sits inside a candidate of another LayerChoice."""
    layer_paths = [name for name, c in choices(model) if isinstance(c, LayerChoice)]
    outer: dict[str, bool] = {}
    for name, c in choices(model):
        inside = any(name.startswith(p + ".") for p in layer_paths if p != name) if name else False
        outer[c.label] = outer.get(c.label, True) and inside
    return {label for label, nested in outer.items() if nested}


def unreached_labels(model: nn.Module, loss: torch.Tensor,
                     groups: Mapping[str, ArchParams]) -> list[str]:
    """Labels whose α ``loss`` does not depend on, except choices nested in another choice's
    candidates (a sampled path may skip those in one step)."""
    labels = [label for label, g in groups.items() if g.alpha.requires_grad]
    if not labels or not loss.requires_grad:
        return []
    grads = torch.autograd.grad(loss, [groups[label].alpha for label in labels],
                                allow_unused=True)
    nested = _nested_in_choice(model)
    return [label for label, g in zip(labels, grads) if g is None and label not in nested]


def _where(model: nn.Module, labels: Sequence[str]) -> str:
    found: dict[str, list[str]] = {}
    for name, c in choices(model):
        found.setdefault(c.label, []).append(name or "<model>")
    return "; ".join(f"{label!r} at {', '.join(found.get(label, ['?'])[:3])}" for label in labels)


#: Extra draws of a path-sampling relaxation before a label counts as unreached.
_REDRAWS = 16


def preflight(
    model: nn.Module,
    loss_fn: LossFn,
    train_batch: tuple[torch.Tensor, torch.Tensor],
    valid_batch: tuple[torch.Tensor, torch.Tensor],
    groups: Mapping[str, ArchParams],
    sample_generator: torch.Generator,
    device: torch.device,
) -> None:
    """Check the first batches before any step (see the module docstring); changes nothing."""
    with _untouched(model, groups, sample_generator, device):
        for g in groups.values():
            g.resample(sample_generator)
        losses = [checked_forward(model, loss_fn, *batch, what=what)[1]
                  for batch, what in ((train_batch, "training"), (valid_batch, "validation"))]
        # each loss in its own dtype: a float64 loss of 1e60 is finite (float32 would read inf)
        finite = [bool(torch.isfinite(v.detach()).all()) for v in losses]
        for ok, value, what in zip(finite, losses, ("training", "validation")):
            if not ok:
                raise NonFiniteError(
                    f"the {what} loss is {value.item()} on the first {what} batch, before any "
                    "step: the data hold NaN/inf, or the model or the loss compute it (log of 0, "
                    "division by 0, overflow)", f"{what} loss", 1, 1)
        if groups and not losses[1].requires_grad:
            raise ValueError(
                "loss_fn's result carries no gradient: it does not depend on the model's α or "
                "weights (was it detached, or computed under torch.no_grad()?)"
            )
        missing = unreached_labels(model, losses[1], groups)
        # a sampled path can cut a label off for one step (GDAS or binary gates drawing `none`
        # downstream of it): only labels that no draw reaches are an error
        sampled = any(g.relaxation.samples_paths for g in groups.values())
        for _ in range(_REDRAWS if sampled and missing else 0):
            for g in groups.values():
                g.resample(sample_generator)
            loss = checked_forward(model, loss_fn, *valid_batch, what="validation")[1]
            again = set(unreached_labels(model, loss, groups))
            missing = [label for label in missing if label in again]
            if not missing:
                break
    if missing:
        raise ValueError(
            f"the loss does not depend on the α of {len(missing)} label(s): "
            f"{_where(model, missing)}. model.forward never uses these choices, so their α could "
            "never move; use them in forward or remove them"
        )


__all__ = [
    "as_dtype",
    "checked_forward",
    "input_dtype",
    "preflight",
    "prepare_tensors",
    "unreached_labels",
    "weight_dtype",
]
