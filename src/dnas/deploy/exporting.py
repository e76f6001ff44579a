"""``dnas.export``: a fixed model as a TorchScript or ONNX file, checked against PyTorch.

The model is copied to the CPU in evaluation mode (the caller's model is left as it was) and
exported from there, so the file runs on any device:

* TorchScript: ``torch.jit.trace`` on the example input (tracing follows any Python the model
  runs; the trace is then checked at other batch sizes), saved with the metadata as the extra file
  ``dnas.json``.
* ONNX: ``torch.onnx.export`` with torch's ``torch.export``-based exporter (needs ``onnx`` and
  ``onnxscript``), the batch axis dynamic, the metadata in ``metadata_props["dnas"]``.

The exported bytes are loaded back with their runtime (``torch.jit.load``, or onnxruntime), run
on seeded random inputs of the recorded shape at batch sizes 1 and 3 and on the example, and
compared with the PyTorch model; only when the largest absolute difference is at most ``atol``
(1e-4, for float32) are they written to ``path``, atomically (:mod:`dnas.runtime.atomic`), so a
failed or interrupted export never leaves a file, or half of one.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnas.deploy.checks import flatten, max_abs_diff, refuse_search_network
from dnas.deploy.runners import (
    METADATA_KEY,
    TORCHSCRIPT_EXTRA,
    ExportedModel,
    QuietJit,
    from_bytes,
    onnxruntime_module,
)
from dnas.runtime import jsonio
from dnas.runtime.atomic import atomic_write
from dnas.runtime.checks import ParameterError, check_float

FORMATS = ("torchscript", "onnx")
_SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript",
             ".torchscript": "torchscript", ".jit": "torchscript"}
#: Batch sizes of the random inputs the exported file is checked on (besides the example).
CHECK_BATCHES = (1, 3)


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export` wrote and how it checked it.

    Attributes
    ----------
    path : Path
        The file written.
    format : {"torchscript", "onnx"}
    input_shape : tuple
        The recorded input shape, ``None`` for the (dynamic) batch axis.
    max_abs_diff : float or None
        Largest absolute difference between the exported model and PyTorch over the check
        inputs (None when ``verify=False``).
    checked_batches : tuple of int
        Batch sizes the check ran.
    """

    path: Path
    format: str
    input_shape: tuple[int | None, ...]
    max_abs_diff: float | None
    checked_batches: tuple[int, ...]


def _format(format: str | None, path: Path) -> str:
    if format is None:
        found = _SUFFIXES.get(path.suffix.lower())
        if found is None:
            raise ValueError(
                f"format=None and the suffix of {str(path)!r} does not say which format: pass "
                f"format= one of {', '.join(FORMATS)} (or name the file .onnx / .pt)"
            )
        return found
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not one of {', '.join(FORMATS)}")
    return format


def _example(model: nn.Module, example_input: Any, input_shape: Any) -> torch.Tensor:
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    if example_input is None:
        if input_shape is None:
            raise ValueError("export needs example_input (a batch of inputs) or input_shape")
        shape = tuple(input_shape)
        if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                for s in shape):
            raise ValueError(f"input_shape={input_shape!r} must be positive integers (no batch)")
        gen = torch.Generator().manual_seed(0)
        return torch.randn((2, *shape), generator=gen, dtype=dtype)
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(
            f"example_input must be one tensor with a batch axis first, got "
            f"{type(example_input).__name__} (models of several inputs are not exported)"
        )
    if example_input.dim() < 2 or example_input.shape[0] < 1:
        raise ValueError(
            f"example_input has shape {tuple(example_input.shape)}: expected a batch, "
            "(B, ...) with B >= 1"
        )
    x = example_input.detach().to("cpu")
    if x.is_floating_point():
        x = x.to(dtype)
    if x.shape[0] == 1:  # torch.export treats a batch of 1 as a constant: trace with two
        x = torch.cat([x, x])
    return x


def _metadata(x: torch.Tensor, n_out: int, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    from dnas import __version__

    meta: dict[str, Any] = {
        "format_version": 1,
        "dnas_version": __version__,
        "input_shape": [None, *x.shape[1:]],
        "dtype": str(x.dtype).replace("torch.", ""),
        "input_name": "input",
        "output_names": _output_names(n_out),
    }
    for key, value in (extra or {}).items():
        if key in meta:
            raise ValueError(f"metadata key {key!r} is dnas' own; choose another name")
        meta[key] = value
    jsonio.dumps(meta, indent=None, what="export metadata")  # strict JSON, or a clear error
    return meta


def _output_names(n: int) -> list[str]:
    return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    # the exporter logs a line per optional library it does not find (torchvision...), and torch's
    # own pytree code warns about its own deprecations: nothing a user can act on
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec")
            yield
    finally:
        logger.setLevel(level)


def _torchscript_bytes(model: nn.Module, x: torch.Tensor, meta: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with QuietJit(), torch.no_grad():
        traced = torch.jit.trace(model, (x,), check_trace=False)
        extra = {TORCHSCRIPT_EXTRA: jsonio.dumps(meta, indent=None, what="export metadata")}
        torch.jit.save(traced, buffer, _extra_files=extra)
    return buffer.getvalue()


def _onnx_bytes(model: nn.Module, x: torch.Tensor, meta: dict[str, Any], opset: int | None
                ) -> bytes:
    try:
        import onnx  # noqa: F401  (torch's exporter needs both)
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "ONNX export needs the onnx and onnxscript packages: pip install 'dnas[onnx]'"
        ) from exc
    batch = torch.export.Dim("batch")
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            model, (x,), None, dynamo=True, dynamic_shapes=({0: batch},),
            input_names=[meta["input_name"]], output_names=meta["output_names"],
            opset_version=opset, verbose=False,
        )
    if program is None:  # only a file target returns nothing
        raise ValueError("the ONNX exporter returned no program")
    proto = program.model_proto
    kept = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, jsonio.dumps(meta, indent=None, what="export metadata")
    return proto.SerializeToString()


def _check(model: nn.Module, x: torch.Tensor, exported: ExportedModel
           ) -> tuple[float, tuple[int, ...]]:
    gen = torch.Generator().manual_seed(0)
    inputs = [x] + [torch.randn((b, *x.shape[1:]), generator=gen, dtype=x.dtype)
                    for b in CHECK_BATCHES]
    worst = 0.0
    for inp in inputs:
        with torch.no_grad():
            expected = flatten(model(inp))
        try:
            got = exported._run(inp)
        except Exception as exc:  # a runtime failing on a batch size the trace fixed, say
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"the exported {exported.format} model fails on an input of shape "
                f"{tuple(inp.shape)}: {first}"
            ) from None
        worst = max(worst, max_abs_diff(expected, got))
    return worst, tuple(inp.shape[0] for inp in inputs)


def export(
    model: nn.Module,
    path: str | os.PathLike[str],
    format: str | None = None,
    example_input: torch.Tensor | None = None,
    *,
    input_shape: Sequence[int] | None = None,
    verify: bool = True,
    atol: float = 1e-4,
    opset: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ExportReport:
    """Write a fixed model as TorchScript or ONNX, checked against PyTorch.

    Parameters
    ----------
    model : nn.Module
        A fixed model (``dnas.fix(...)``, ``dnas.spaces.darts.eval_network(...)``, any plain
        module of one tensor input). A model that still holds choices is refused.
    path : path-like
        The file to write (its folder is created).
    format : {"torchscript", "onnx"}, optional
        Default: from the suffix (``.onnx``; ``.pt``, ``.ts``, ``.torchscript``, ``.jit``).
    example_input : torch.Tensor, optional
        A batch ``(B, ...)``; its shape without the batch axis is recorded as the input shape
        (the batch axis stays free).
    input_shape : sequence of int, optional
        One input's shape, when no example is given (random inputs are used).
    verify : bool
        Load the written file back with its runtime and compare it with PyTorch (ONNX needs
        onnxruntime: ``pip install 'dnas[onnx]'``).
    atol : float
        Largest absolute difference accepted (1e-4 suits float32).
    opset : int, optional
        ONNX opset version (default: the exporter's).
    metadata : mapping, optional
        JSON-serialisable entries stored with the model (class names, the architecture...).

    Returns
    -------
    ExportReport

    Raises
    ------
    ValueError
        A search network, bad arguments, an export that fails or differs from PyTorch by more
        than ``atol`` (nothing is written then).
    ImportError
        ONNX without ``onnx``/``onnxscript``, or verification without ``onnxruntime``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(
            f"path must be a file path (str or os.PathLike) such as 'model.onnx', got "
            f"{type(path).__name__} (the order is export(model, path, format, example_input))")
    path = Path(path)
    fmt = _format(format, path)
    refuse_search_network(model)
    check_float("atol", atol, 0)  # finite: atol=inf would pass any output
    if verify and fmt == "onnx":
        onnxruntime_module()  # fail before the (slow) export, not after it
    x = _example(model, example_input, input_shape)
    deployable = copy.deepcopy(model).to("cpu").eval()
    try:
        with torch.no_grad():
            out = flatten(deployable(x))
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"the model cannot take an input of shape {tuple(x.shape)}: {first}"
        ) from None
    meta = _metadata(x, len(out), metadata)
    try:
        data = (_torchscript_bytes(deployable, x, meta) if fmt == "torchscript"
                else _onnx_bytes(deployable, x, meta, opset))
    except (ImportError, ValueError):
        raise
    except Exception as exc:  # tracers and exporters raise many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{fmt} export of {type(model).__name__} failed: {first}") from None
    worst: float | None = None
    batches: tuple[int, ...] = ()
    if verify:
        worst, batches = _check(deployable, x, from_bytes(data, fmt, path))
        if not worst <= atol:
            raise ValueError(
                f"the exported {fmt} model differs from PyTorch by up to {worst:.3g} "
                f"(> atol={atol:g}) on random inputs; nothing was written to {str(path)!r}"
            )
    atomic_write(path, data)
    return ExportReport(path, fmt, tuple(meta["input_shape"]), worst, batches)
