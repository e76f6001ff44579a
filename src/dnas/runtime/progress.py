"""The progress bar of a loop (tqdm): shown on a terminal, silent in logs and tests."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(total: int, *, initial: int = 0, desc: str, show: bool | None = None) -> tqdm:
    """A ``tqdm`` bar over ``total`` steps starting at ``initial`` (a resumed run).

    ``show=None`` shows it only when stderr is a terminal. Use it as a context manager.
    """
    visible = show if show is not None else sys.stderr.isatty()
    return tqdm(
        total=total, initial=initial, disable=not visible, desc=desc, leave=False,
        dynamic_ncols=True,
    )


__all__ = ["progress_bar"]
