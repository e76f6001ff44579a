"""The bilevel search: configuration, batch streams, the loop."""

from dnas.search.api import search
from dnas.search.config import PRESETS, SearchConfig
from dnas.search.loop import Searcher
from dnas.search.result import Callback, SearchResult
from dnas.search.runtime import default_loss, resolve_device

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
