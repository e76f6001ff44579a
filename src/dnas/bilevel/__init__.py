"""The bilevel search: configuration, batch streams, the loop."""

from dnas.bilevel.api import search
from dnas.bilevel.config import PRESETS, SearchConfig
from dnas.bilevel.loop import Searcher
from dnas.bilevel.result import Callback, SearchResult
from dnas.bilevel.runtime import default_loss, resolve_device

__all__ = [
    "PRESETS",
    "Callback",
    "SearchConfig",
    "SearchResult",
    "Searcher",
    "default_loss",
    "resolve_device",
    "search",
]
