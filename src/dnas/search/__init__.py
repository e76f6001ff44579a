"""The bilevel search: configuration, batch streams, the loop."""

from dnas.search.config import PRESETS, SearchConfig
from dnas.search.loop import Callback, Searcher, SearchResult, default_loss, resolve_device, search

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
