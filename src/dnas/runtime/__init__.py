"""What every loop of dnas runs on, whatever it trains: the neutral run-time layer.

- :mod:`~dnas.runtime.batches`: persistent, seeded, resumable batch streams;
- :mod:`~dnas.runtime.device`: ``"auto"`` -> a device, once, at the entry point;
- :mod:`~dnas.runtime.loss`: the default loss of a search;
- :mod:`~dnas.runtime.atomic`: the one atomic file write;
- :mod:`~dnas.runtime.checkpoint`: checkpoints and the :class:`Checkpoint` callback;
- :mod:`~dnas.runtime.checks`: checks of user-given values, one message style;
- :mod:`~dnas.runtime.meters`, :mod:`~dnas.runtime.rng`, :mod:`~dnas.runtime.progress`,
  :mod:`~dnas.runtime.callbacks`, :mod:`~dnas.runtime.loop`: what a loop keeps track of, and
  the skeleton the search's and the retraining's loops share.

The search (:mod:`dnas.bilevel`), retraining (:mod:`dnas.train`), the data loaders, the
estimator and the command line all build on it; it depends on none of them.
"""

from dnas.runtime.atomic import atomic_write, atomic_writer
from dnas.runtime.batches import IterableBatches, TensorBatches, make_batches
from dnas.runtime.callbacks import Callback
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint, resolve_checkpoint, save_checkpoint
from dnas.runtime.checks import (
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from dnas.runtime.device import resolve_device
from dnas.runtime.loop import LoopState
from dnas.runtime.loss import default_loss
from dnas.runtime.meters import Meters, SplitMeter
from dnas.runtime.progress import progress_bar
from dnas.runtime.rng import generator, global_rng, global_rng_state

__all__ = [
    "Callback",
    "Checkpoint",
    "IterableBatches",
    "LoopState",
    "Meters",
    "ParameterError",
    "SplitMeter",
    "TensorBatches",
    "atomic_write",
    "atomic_writer",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_seed",
    "default_loss",
    "generator",
    "global_rng",
    "global_rng_state",
    "load_checkpoint",
    "make_batches",
    "progress_bar",
    "resolve_checkpoint",
    "resolve_device",
    "save_checkpoint",
]
