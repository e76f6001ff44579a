"""A search's whole state as a ``state_dict``: what a checkpoint holds, and how it is put back.

Weights, α, both optimisers, the schedule, the running meters, every generator (sampling,
augmentation, data order), the data streams' positions, the relaxations' own state (e.g. GDAS'
temperature) and the global RNG. Restoring it continues the search bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dnas.relaxations import installed_relaxations
from dnas.runtime.rng import global_rng_state

if TYPE_CHECKING:
    from dnas.bilevel.loop import Searcher

#: options whose change makes a saved search meaningless to continue (the relaxation's state, the
#: data streams' positions counted in batches)
STRUCTURAL = ("method", "method_options", "batch_size")


def searcher_state(s: Searcher) -> dict[str, Any]:
    """Everything needed to continue ``s`` exactly (see the module docstring)."""
    return {
        "model": s.model.state_dict(),
        "w_optimizer": s.w_optimizer.state_dict(),
        "a_optimizer": s.a_optimizer.state_dict(),
        "scheduler": s.scheduler.state_dict(),
        **s._progress_state(),
        "sample_generator": s.sample_generator.get_state(),
        "aug_generator": s.aug_generator.get_state(),
        "train_stream": s.train.state_dict(),
        "valid_stream": s.valid.state_dict(),
        "relaxations": [dict(vars(r)) for r in installed_relaxations(s.model)],
        **global_rng_state(s.device),
    }


def load_searcher_state(s: Searcher, state: Mapping[str, Any]) -> None:
    """Put ``state`` (from :func:`searcher_state`) back into ``s``, once it is known to fit
    (:func:`dnas.runtime.resume.check_resume`: the model, the position, the options)."""
    s._check_resume(state, STRUCTURAL)
    s.model.load_state_dict(state["model"])
    s.w_optimizer.load_state_dict(state["w_optimizer"])
    s.a_optimizer.load_state_dict(state["a_optimizer"])
    s.scheduler.load_state_dict(state["scheduler"])
    s._load_progress(state)
    dp = s.data_parallel
    if state.get("meters_over_ranks") and dp is not None and not dp.is_main:
        # rank 0 restored the totals of all ranks (runtime/checkpoint.py): count them once
        s.meters.zero_()
    s.sample_generator.set_state(state["sample_generator"])
    if "aug_generator" in state:  # absent from checkpoints written before augmentation
        s.aug_generator.set_state(state["aug_generator"])
    s.train.load_state_dict(state["train_stream"])
    s.valid.load_state_dict(state["valid_stream"])
    for r, saved in zip(installed_relaxations(s.model), state["relaxations"]):
        vars(r).update(saved)


__all__ = ["load_searcher_state", "searcher_state"]
