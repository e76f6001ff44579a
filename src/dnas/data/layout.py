"""What the axes of a user's input array mean, and the ``(N, C, L)`` / ``(N, C, H, W)`` it becomes.

A layout names the axes, ``N`` being the samples:

========== ============================ =====================================================
layout     input                        becomes
========== ============================ =====================================================
tabular    ``(N, F)`` features          ``(N, F, 1)``: F channels of length 1 (``dim=1``)
NL         ``(N, L)`` one sequence each ``(N, 1, L)`` (``dim=1``)
NCL        ``(N, C, L)``                unchanged (``dim=1``)
NLC        ``(N, L, C)``                ``(N, C, L)``
NHW        ``(N, H, W)`` grey images    ``(N, 1, H, W)`` (``dim=2``)
NCHW       ``(N, C, H, W)``             unchanged
NHWC       ``(N, H, W, C)``             ``(N, C, H, W)``
========== ============================ =====================================================

Tabular data becomes F channels of length 1 because the order of a table's columns means nothing:
on a length-1 input every convolution of the 1-D DARTS cells touches one position only (its
centre tap), so each candidate is a per-sample linear map over the features (with BN and ReLU),
pooling and skip are identities, and the cell search becomes a search over small MLP blocks that
no reordering of the columns can change. Reading the columns as a sequence (``NL``) would instead
convolve neighbouring columns as if they were neighbouring time steps.

``"auto"`` decides from the array's shape and refuses what it cannot tell apart:

* 2 axes: tabular (a CSV whose feature columns are a numbered series is a sequence: see
  :mod:`dnas.data.tables`);
* 3 axes ``(N, A, B)``: ``A == B``: grey images; ``A <= 16`` and ``B >= 4A``: ``NCL``;
  ``B <= 16`` and ``A >= 4B``: ``NLC``; anything else is ambiguous;
* 4 axes ``(N, A, B, D)``: the channel axis is ``A`` (``NCHW``) when ``A <= 64`` and ``A`` is
  smaller than both ``B`` and ``D``; ``D`` (``NHWC``) when ``D <= 64`` and smaller than both
  ``A`` and ``B``; anything else is ambiguous.
"""

from __future__ import annotations

import numpy as np

LAYOUTS = ("auto", "tabular", "NL", "NCL", "NLC", "NHW", "NCHW", "NHWC")
_RANK = {"tabular": 2, "NL": 2, "NCL": 3, "NLC": 3, "NHW": 3, "NCHW": 4, "NHWC": 4}


def check_layout(layout: object) -> str:
    """``layout`` as one of :data:`LAYOUTS` (case-insensitive axis letters), else ``ValueError``."""
    if isinstance(layout, str):
        for name in LAYOUTS:
            if layout.lower() == name.lower():
                return name
    raise ValueError(f"layout={layout!r} is not one of {', '.join(LAYOUTS)}")


def infer_layout(shape: tuple[int, ...], where: str) -> str:
    """The layout ``"auto"`` picks for an input array of ``shape`` (samples first)."""
    if len(shape) == 2:
        return "tabular"
    if len(shape) == 3:
        a, b = shape[1:]
        if a == b:
            return "NHW"
        if a <= 16 and b >= 4 * a:
            return "NCL"
        if b <= 16 and a >= 4 * b:
            return "NLC"
        raise ValueError(
            f"{where} has shape {shape}: grey images (N, H, W) or sequences (N, C, L) / "
            "(N, L, C)? Pass layout NHW, NCL or NLC (--layout)"
        )
    if len(shape) == 4:
        a, b, d = shape[1:]
        if a <= 64 and a < b and a < d:
            return "NCHW"
        if d <= 64 and d < a and d < b:
            return "NHWC"
        raise ValueError(
            f"{where} has shape {shape}: which axis holds the channels? Pass layout NCHW or "
            "NHWC (--layout)"
        )
    raise ValueError(
        f"{where} has shape {shape}: expected (N, F) features, (N, C, L) sequences or "
        "(N, C, H, W) images"
    )


def arrange(X: np.ndarray, layout: str, where: str) -> tuple[np.ndarray, str]:
    """``X`` with samples, channels, then 1 or 2 spatial axes, and the layout used.

    Parameters
    ----------
    X : np.ndarray
        The input array, samples first.
    layout : str
        One of :data:`LAYOUTS`; ``"auto"`` infers it (:func:`infer_layout`).
    where : str
        Names the array in messages.
    """
    layout = check_layout(layout)
    if layout == "auto":
        layout = infer_layout(tuple(X.shape), where)
    if X.ndim != _RANK[layout]:
        raise ValueError(
            f"{where} has {X.ndim} axes {tuple(X.shape)}, but layout {layout} needs "
            f"{_RANK[layout]}"
        )
    if min(X.shape[1:], default=1) < 1:
        raise ValueError(f"{where} has shape {tuple(X.shape)}: every axis needs a length >= 1")
    if layout == "tabular":
        X = X[:, :, None]
    elif layout in ("NL", "NHW"):
        X = X[:, None]
    elif layout == "NLC":
        X = np.moveaxis(X, 2, 1)
    elif layout == "NHWC":
        X = np.moveaxis(X, 3, 1)
    return X, layout


def kind_of(layout: str) -> str:
    """``"tabular"``, ``"sequence"`` or ``"image"``."""
    if layout == "tabular":
        return "tabular"
    return "sequence" if layout in ("NL", "NCL", "NLC") else "image"
