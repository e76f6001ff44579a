"""A search budget counted in α steps, and the learning-rate rule that keeps papers' presets moving.

The presets of the DARTS family were tuned on CIFAR-10: 50 epochs of 391 α steps (19,550 steps,
Liu et al., 2019, section 3.1). On a small data set a search has far fewer steps (MNIST-1D's
4,000-sample α half at batch 64 gives 62 per epoch), and with the paper's α learning rate α barely
leaves its uniform start (the largest operation probability stays near 1/|O|). The rule here
scales every α learning rate by ``reference_steps / steps``, so that the total movement Adam allows
α (about ``lr`` per step) matches the paper's, and scales warm-up epochs with the epochs::

    arch_lr = preset_arch_lr * reference_steps / steps
    warmup_epochs = round(preset_warmup_epochs / preset_epochs * epochs)

where ``steps = epochs * steps_per_epoch``, ``epochs = max(1, round(steps / steps_per_epoch))``.
``benchmarks/tabular.py`` gives every method the same budget this way, and ``dnas search --space
nb201`` uses it for its defaults.
"""

from __future__ import annotations

from typing import Any

from dnas.bilevel.config import SearchConfig

#: DARTS' CIFAR-10 search: 50 epochs of 391 α steps.
PAPER_STEPS = 50 * 391
#: Epochs the presets' warm-up lengths were set for.
PAPER_EPOCHS = 50


def budget_config(
    method: str = "darts",
    *,
    steps: int,
    steps_per_epoch: int,
    reference_steps: int = PAPER_STEPS,
    **overrides: Any,
) -> SearchConfig:
    """The paper preset of ``method`` for a budget of ``steps`` α steps (see the module).

    Parameters
    ----------
    method : str
        A relaxation (``dnas methods``).
    steps : int
        α steps of the whole search (rounded to whole epochs of ``steps_per_epoch``).
    steps_per_epoch : int
        α steps per epoch (the α split's size over the batch size).
    reference_steps : int
        The steps the preset was tuned for (default: DARTS on CIFAR-10, 19,550).
    **overrides
        Any other :class:`~dnas.bilevel.SearchConfig` field; an explicit ``arch_lr`` or
        ``warmup_epochs`` is kept as given.

    Returns
    -------
    SearchConfig
    """
    for name, value in (("steps", steps), ("steps_per_epoch", steps_per_epoch),
                        ("reference_steps", reference_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    for name in ("epochs", "steps_per_epoch"):
        if name in overrides:
            raise ValueError(f"pass steps= and steps_per_epoch=, not {name}= in the overrides")
    epochs = max(1, round(steps / steps_per_epoch))
    base = SearchConfig.for_method(method)
    scale = reference_steps / (epochs * steps_per_epoch)
    values: dict[str, Any] = {
        "arch_lr": base.arch_lr * scale,
        "warmup_epochs": round(base.warmup_epochs / PAPER_EPOCHS * epochs),
        **overrides,
    }
    return SearchConfig.for_method(method, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                   **values)


__all__ = ["PAPER_EPOCHS", "PAPER_STEPS", "budget_config"]
