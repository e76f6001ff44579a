"""Running loss and accuracy of a training loop, kept on the device until the epoch ends.

Each split (``"train"``, ``"valid"``) has four running sums: ``loss_sum`` (loss · batch size),
``samples``, ``correct`` (top-1 hits) and ``scored`` (samples of classification batches, the
accuracy's denominator). Updating never synchronises with the host; :meth:`Meters.summary` reads
every sum at once, the epoch's one host sync.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch

FIELDS = ("loss_sum", "samples", "correct", "scored")

# keys of checkpoints written before the sums had names: search (t/v + l/c/a/n) and retraining
_LEGACY = {
    **{f"{s[0]}{f[0]}": f"{s}.{f2}" for s in ("train", "valid")
       for f, f2 in (("l", "loss_sum"), ("n", "samples"), ("c", "correct"), ("a", "scored"))},
    "loss": "train.loss_sum", "n": "train.samples", "correct": "train.correct",
}


class SplitMeter:
    """The running sums of one split (float64 scalars on ``device``).

    Attributes
    ----------
    loss_sum, samples, correct, scored : torch.Tensor
    """

    def __init__(self, device: torch.device | str = "cpu") -> None:
        zero = torch.zeros((), device=device, dtype=torch.float64)
        self.loss_sum = zero
        self.samples = zero.clone()
        self.correct = zero.clone()
        self.scored = zero.clone()

    def update(self, loss: torch.Tensor, output: Any, target: torch.Tensor) -> None:
        """Add one batch: its mean ``loss``, and its top-1 hits when ``target`` holds classes.

        A tuple ``output`` (logits, auxiliary logits) is scored by its first element; accuracy
        counts only integer targets against 2-D logits.
        """
        n = target.shape[0]
        self.loss_sum += loss.detach().double() * n
        self.samples += n
        if isinstance(output, (tuple, list)):
            output = output[0]
        if not target.is_floating_point() and output.dim() == 2:
            self.correct += (output.detach().argmax(1) == target).sum()
            self.scored += n

    def tensors(self) -> list[torch.Tensor]:
        """The four sums, in :data:`FIELDS` order (e.g. to sum them over processes in place)."""
        return [getattr(self, f) for f in FIELDS]


class Meters:
    """One :class:`SplitMeter` per split.

    Parameters
    ----------
    splits : iterable of str
        E.g. ``("train", "valid")``; a meter is ``meters["train"]``.
    device : torch.device or str
    """

    def __init__(self, splits: Iterable[str], device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.splits = tuple(splits)
        self.reset()

    def reset(self) -> None:
        """Zero every sum (at the start of an epoch)."""
        self._meters = {s: SplitMeter(self.device) for s in self.splits}

    def __getitem__(self, split: str) -> SplitMeter:
        return self._meters[split]

    def tensors(self) -> list[torch.Tensor]:
        """Every sum of every split (a stable order: splits, then :data:`FIELDS`)."""
        return [t for s in self.splits for t in self._meters[s].tensors()]

    def copy(self) -> Meters:
        """An independent copy (e.g. to sum over processes without touching the running sums)."""
        other = Meters(self.splits, self.device)
        other.load_state_dict(self.state_dict())
        return other

    def summary(self) -> dict[str, float]:
        """``{"<split>_loss": mean loss, "<split>_acc": accuracy}`` (NaN where nothing counted)."""
        values = torch.stack(self.tensors()).tolist()  # one host sync for all of them
        out: dict[str, float] = {}
        for i, split in enumerate(self.splits):
            loss_sum, samples, correct, scored = values[4 * i : 4 * i + 4]
            out[f"{split}_loss"] = loss_sum / samples if samples else math.nan
            out[f"{split}_acc"] = correct / scored if scored else math.nan
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{"<split>.<field>": tensor on the CPU}``."""
        return {
            f"{s}.{f}": getattr(self._meters[s], f).detach().cpu()
            for s in self.splits for f in FIELDS
        }

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Restore the sums (also from checkpoints with the older short keys)."""
        named = {_LEGACY.get(k, k): v for k, v in state.items()}
        if "train.scored" not in named and "train.samples" in named:  # retraining always scores
            named["train.scored"] = named["train.samples"]
        self.reset()
        for key, value in named.items():
            split, _, field = key.partition(".")
            if split in self._meters and field in FIELDS:
                setattr(self._meters[split], field, value.to(self.device, torch.float64).clone())

    def zero_(self) -> None:
        """Zero the sums in place (the totals of the other processes were restored elsewhere)."""
        for t in self.tensors():
            t.zero_()


__all__ = ["FIELDS", "Meters", "SplitMeter"]
