"""The bilevel search: configuration and presets, the loop, its optimisers and state, the result.

Batch streams, the device, checkpoints and the other run-time pieces it shares with retraining
live in :mod:`dnas.runtime`.
"""

from dnas.bilevel.api import search
from dnas.bilevel.config import PRESETS, SearchConfig, resolve_config
from dnas.bilevel.loop import Searcher
from dnas.bilevel.result import Callback, SearchResult
from dnas.runtime.device import resolve_device
from dnas.runtime.loss import default_loss

__all__ = [
    "PRESETS",
    "Callback",
    "SearchConfig",
    "SearchResult",
    "Searcher",
    "default_loss",
    "resolve_config",
    "resolve_device",
    "search",
]
