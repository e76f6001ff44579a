"""NAS-Bench-201's export rule: each edge keeps its most probable operation, ``none`` included.

Unlike the DARTS cell space (whose rule never picks ``none`` and keeps two inputs per node), every
NAS-Bench-201 edge is one independent choice and ``none`` is a legitimate answer, so the rule is a
plain argmax of the label's probabilities (Dong & Yang, 2020, section 5: "we select the operation
with the maximum probability on each edge").
"""

from __future__ import annotations

from torch import nn

from dnas.arch.architecture import Architecture
from dnas.arch.derivation import label_probabilities
from dnas.runtime.checks import check_int
from dnas.spaces.nb201.structure import LABELS


def derive(model: nn.Module, digits: int = 6) -> Architecture:
    """The argmax operation of every NAS-Bench-201 edge label of ``model``."""
    check_int("digits", digits, 0)
    probs = label_probabilities(model)
    missing = [label for label in LABELS if label not in probs]
    if missing:
        raise ValueError(f"model has no NAS-Bench-201 edge label(s) {missing}")
    chosen = {label: max(probs[label], key=probs[label].__getitem__) for label in LABELS}
    meta = {
        "space": "nb201",
        "probabilities": {
            label: [round(p, digits) for p in probs[label].values()] for label in LABELS
        },
    }
    return Architecture(chosen, meta=meta)


__all__ = ["derive"]
