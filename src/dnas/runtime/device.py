"""The device a run uses: ``"auto"`` resolved once, at the entry point."""

from __future__ import annotations

import torch

#: device types a run can compute on (``meta`` holds shapes only, ``cpu:3`` is not a thing)
_KINDS = ("cpu", "cuda", "mps", "xpu")
_ALLOWED = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def _available(kind: str) -> int:
    """How many devices of ``kind`` this machine has (0: none)."""
    if kind == "cpu":
        return 1
    if kind == "cuda":
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    if kind == "mps":
        return int(torch.backends.mps.is_available())
    xpu = getattr(torch, "xpu", None)
    return xpu.device_count() if xpu is not None and xpu.is_available() else 0


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is checked.

    Raises
    ------
    ValueError
        For a name torch does not know, a device that cannot compute (``"meta"``), an index the
        machine does not have (``"cuda:7"`` on one GPU) or CUDA where there is none.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device={device!r} must be a device name such as {_ALLOWED}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} must be a device name such as {_ALLOWED}") from None
    if dev.type not in _KINDS:
        raise ValueError(
            f"device={device!r} must be {_ALLOWED} (or 'mps'/'xpu' where present); "
            f"{dev.type!r} devices do not compute"
        )
    if dev.type == "cpu" and dev.index not in (None, 0):
        raise ValueError(f"device={device!r} must be 'cpu' (there is one CPU device)")
    count = _available(dev.type)
    if count == 0:
        raise ValueError(f"device={device!r} was asked for but {dev.type.upper()} is not "
                         "available here")
    if dev.index is not None and dev.index >= count:
        raise ValueError(
            f"device={device!r} must have an index below {count}: this machine has {count} "
            f"{dev.type} device(s)"
        )
    return dev


__all__ = ["resolve_device"]
