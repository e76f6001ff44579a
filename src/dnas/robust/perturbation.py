"""DARTS-PT: choose each edge's operation by what the supernet loses without it (Wang et al., 2021,
ICLR, "Rethinking Architecture Selection in Differentiable NAS", Algorithm 1).

α's magnitude is a poor measure of an operation's strength (the paper's section 3: on
NAS-Bench-201 it favours skip connections that contribute little). DARTS-PT asks the trained
supernet instead. Until every label is decided:

1. pick an undecided label at random;
2. for each of its candidates o, switch o off (its mixing weight set to 0, the others unchanged)
   and measure the supernet's validation accuracy ``acc_{\\o}``;
3. keep the candidate whose removal hurts most, ``argmin_o acc_{\\o}``, and fix the label to it
   (one-hot weights);
4. fine-tune the supernet (weights and the remaining α, learning rate / 10) before the next
   decision.

The paper fine-tunes 5 epochs between decisions after a 100-epoch NAS-Bench-201 search; with the
budget counted in steps, the preset fine-tunes 5% of the search's steps per decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dnas.arch.architecture import Architecture
from dnas.bilevel.feed import next_batches
from dnas.robust.base import Robustified, RobustMethod


@torch.no_grad()
def supernet_accuracy(searcher: Any, data: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Accuracy of the supernet on ``data`` (batches), in training mode as the paper measures it
    (the search network's BatchNorm statistics are those of the batch)."""
    correct, total = 0, 0
    model = searcher.model
    was_training = model.training
    model.train()
    try:
        for x, y in data:
            x, y = x.to(searcher.device), y.to(searcher.device)
            out = model(x)
            out = out[0] if isinstance(out, (tuple, list)) else out
            correct += int((out.argmax(1) == y).sum())
            total += y.shape[0]
    finally:
        model.train(was_training)
    return correct / max(total, 1)


def project(
    searcher: Any,
    valid: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    tune_steps: int,
    tune_lr_factor: float = 0.1,
    seed: int = 0,
    labels: Sequence[str] | None = None,
) -> Architecture:
    """Run DARTS-PT's selection on a trained search (``searcher``: a :class:`dnas.Searcher`).

    Parameters
    ----------
    searcher : dnas.Searcher
        Its model is the trained supernet; its ``arch_step`` / ``weight_step`` and batch streams
        fine-tune it between decisions.
    valid : sequence of (x, y) batches
        Where removals are measured (the validation split).
    tune_steps : int
        Search steps (an α step and a weight step each) after every decision but the last.
    tune_lr_factor : float
        The weights' learning rate during fine-tuning, relative to the search's ``w_lr``.
    seed : int
        Seeds the order in which labels are decided.
    labels : sequence of str, optional
        The labels to decide (default: every LayerChoice label with more than one candidate);
        the others keep the relaxation's export rule.

    Returns
    -------
    Architecture
        ``meta["selection"] == "perturbation"``, with the accuracy after each removal.
    """
    if isinstance(tune_steps, bool) or not isinstance(tune_steps, int) or tune_steps < 0:
        raise ValueError(f"tune_steps={tune_steps!r} must be an integer >= 0")
    groups = searcher.groups
    if labels is None:
        labels = [k for k, g in groups.items() if g.kind == "layer" and len(g) > 1]
    unknown = sorted(set(labels) - set(groups))
    if unknown:
        raise ValueError(f"labels {unknown} are not labels of the model; it has {sorted(groups)}")
    for label in labels:
        if groups[label].kind != "layer" or groups[label].n_chosen != 1:
            raise ValueError(
                f"DARTS-PT decides LayerChoice labels that keep one candidate; {label!r} is a "
                f"{groups[label].kind} choice keeping {groups[label].n_chosen}"
            )
    wrappers = RobustMethod().install(searcher.model)
    by_label: dict[str, Robustified] = {
        k: g.relaxation for k, g in groups.items() if isinstance(g.relaxation, Robustified)
    }
    for group in searcher.w_optimizer.param_groups:
        group["lr"] = searcher.config.w_lr * tune_lr_factor
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).tolist()
    chosen: dict[str, str] = {}
    record: dict[str, dict[str, float]] = {}
    try:
        for n, i in enumerate(order):
            label = labels[i]
            g, r = groups[label], by_label[label]
            accs = {}
            for j, name in enumerate(g.names):
                mask = torch.ones(len(g), device=g.alpha.device, dtype=g.alpha.dtype)
                mask[j] = 0
                r.masks[label] = mask
                accs[name] = supernet_accuracy(searcher, valid)
            del r.masks[label]
            best = min(range(len(g)), key=lambda j: (accs[g.names[j]], j))
            chosen[label] = g.names[best]
            record[label] = accs
            one_hot = torch.zeros(len(g), device=g.alpha.device, dtype=g.alpha.dtype)
            one_hot[best] = 1
            r.fixed[label] = one_hot
            if n < len(order) - 1:
                for _ in range(tune_steps):
                    train_batch, valid_batch = next_batches(
                        searcher.train, searcher.valid, searcher.device, searcher.augment,
                        searcher.aug_generator, searcher.data_parallel,
                    )
                    searcher.arch_step(train_batch, valid_batch)
                    searcher.weight_step(train_batch)
    finally:
        for w in wrappers:
            w.masks.clear()
    from dnas.arch.derivation import derive

    rest = derive(searcher.model)  # labels not decided here keep the default rule
    choices = {k: list(rest[k]) for k in rest}
    choices.update({k: [v] for k, v in chosen.items()})
    meta = dict(rest.meta)
    meta.update({"selection": "perturbation", "removal_accuracy": record,
                 "decision_order": [labels[i] for i in order]})
    return Architecture(choices, meta=meta)


__all__ = ["project", "supernet_accuracy"]
