"""SDARTS: train the supernet's weights under perturbed architectures (Chen & Hsieh, 2020, ICML).

Collapse comes with a sharp validation loss in α; SDARTS flattens it by training w on

    min_w E_{δ ~ U[-ε, ε]} L_train(w, ᾱ + δ)                   (SDARTS-RS, eq. 4)
    min_w max_{‖δ‖∞ ≤ ε} L_train(w, ᾱ + δ)                      (SDARTS-ADV, eq. 5)

where ᾱ = softmax(α) are the mixing weights and ᾱ + δ is projected back (clamped to [0, 1],
rescaled to sum 1). Only the weight step sees δ; the α step is DARTS' (first or second order). ε
grows linearly from 0.03 to 0.3 over the search (the authors' code), and ADV finds δ by 7 steps of
L∞ projected gradient ascent of size 2ε/7 from a random start, in evaluation mode, keeping δ = 0
when the attack does not raise the loss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from dnas.robust.base import RobustMethod, linear
from dnas.runtime.checks import FLOAT32_MAX, check_float


class RandomSmoothing(RobustMethod):
    """SDARTS-RS: uniform noise on the mixing weights of every weight step.

    Parameters
    ----------
    epsilon_start, epsilon_end : float, default 0.03, 0.3
        Noise radius at the start and at the end of the search.
    """

    name = "sdarts-rs"

    def __init__(self, epsilon_start: float = 0.03, epsilon_end: float = 0.3) -> None:
        check_float("epsilon_start", epsilon_start, 0, FLOAT32_MAX)
        check_float("epsilon_end", epsilon_end, 0, FLOAT32_MAX)
        self.epsilon_start = float(epsilon_start)
        self.epsilon_end = float(epsilon_end)
        self.epsilon = self.epsilon_start

    def set_progress(self, fraction: float) -> None:
        self.epsilon = linear(self.epsilon_start, self.epsilon_end, fraction)

    def _groups(self, searcher: Any):
        return [(g, w) for w in self.wrappers for g in searcher.groups.values()
                if g.relaxation is w]

    def perturbation(self, searcher: Any, batch: Any) -> dict[str, torch.Tensor]:
        """This step's δ per label: uniform in [-ε, ε], drawn from the searcher's generator."""
        out = {}
        for g, _ in self._groups(searcher):
            u = torch.rand(g.alpha.shape, generator=searcher.sample_generator,
                           device=g.alpha.device, dtype=g.alpha.dtype)
            out[g.label] = (2 * u - 1) * self.epsilon
        return out

    @contextlib.contextmanager
    def weight_step(self, searcher: Any, batch: Any) -> Iterator[None]:
        deltas = self.perturbation(searcher, batch)
        for w in self.wrappers:
            w.deltas = deltas
        try:
            yield
        finally:
            for w in self.wrappers:
                w.deltas = {}


class AdversarialSmoothing(RandomSmoothing):
    """SDARTS-ADV: the δ in the ε-ball that most raises the training loss of this batch.

    Parameters
    ----------
    epsilon_start, epsilon_end : float, default 0.03, 0.3
        Radius of the L∞ ball at the start and at the end of the search.
    steps : int, default 7
        Projected gradient-ascent steps (each a forward and backward pass).
    """

    name = "sdarts-adv"

    def __init__(self, epsilon_start: float = 0.03, epsilon_end: float = 0.3,
                 steps: int = 7) -> None:
        super().__init__(epsilon_start, epsilon_end)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps={steps!r} must be a positive integer")
        self.steps = steps

    def _loss(self, searcher: Any, batch: Any, deltas: dict[str, torch.Tensor]) -> torch.Tensor:
        for w in self.wrappers:
            w.deltas = deltas
        x, y = batch
        return searcher.loss_fn(searcher.model(x), y)

    def perturbation(self, searcher: Any, batch: Any) -> dict[str, torch.Tensor]:
        eps = self.epsilon
        start = super().perturbation(searcher, batch)  # the random start
        model = searcher.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                before = self._loss(searcher, batch, {})
            deltas = {k: d.clone().requires_grad_(True) for k, d in start.items()}
            for _ in range(self.steps):
                loss = self._loss(searcher, batch, deltas)
                grads = torch.autograd.grad(loss, list(deltas.values()), allow_unused=True)
                with torch.no_grad():
                    for d, g in zip(deltas.values(), grads):
                        if g is not None:
                            d.add_(g.sign(), alpha=2 * eps / self.steps).clamp_(-eps, eps)
            deltas = {k: d.detach() for k, d in deltas.items()}
            with torch.no_grad():
                after = self._loss(searcher, batch, deltas)
        finally:
            for w in self.wrappers:
                w.deltas = {}
            model.train(was_training)
        return deltas if after > before else {}


__all__ = ["AdversarialSmoothing", "RandomSmoothing"]
