"""Running an exported file: TorchScript through ``torch.jit.load``, ONNX through onnxruntime.

Both formats carry dnas' metadata (a JSON object: the input shape with ``null`` for the batch
axis, the dtype, the output names, whatever the caller added such as class names): TorchScript as
the extra file ``dnas.json`` inside the archive, ONNX as the model's ``metadata_props`` entry
``dnas``. :func:`load_exported` reads either back into an :class:`ExportedModel`.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnas.runtime import jsonio

METADATA_KEY = "dnas"
TORCHSCRIPT_EXTRA = "dnas.json"


class QuietJit(warnings.catch_warnings):
    """Hides torch's deprecation warnings for ``torch.jit`` inside the block: TorchScript is what
    the user asked for, and the warning names nothing they can change here."""

    def __enter__(self):
        out = super().__enter__()
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit")
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit")
        return out


def onnxruntime_module() -> Any:
    """The ``onnxruntime`` module, or ``ImportError`` saying how to install it."""
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ImportError(
            "running or verifying an ONNX export needs onnxruntime: pip install 'dnas[onnx]' "
            "(or pass verify=False / --no-verify to skip the check)"
        ) from exc
    return onnxruntime


@dataclass
class ExportedModel:
    """An exported file, loaded to run: ``model(x)`` returns a tensor or a tuple of tensors.

    Attributes
    ----------
    path : Path
    format : {"torchscript", "onnx"}
    metadata : dict
        dnas' metadata (``input_shape`` with ``None`` for the batch axis, ``dtype``, ...).
    """

    path: Path
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)
    _run: Any = field(default=None, repr=False)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """The recorded input shape, ``None`` for the batch axis."""
        return tuple(self.metadata.get("input_shape", ()))

    def __call__(self, x: torch.Tensor | np.ndarray) -> torch.Tensor | tuple[torch.Tensor, ...]:
        outputs = self._run(torch.as_tensor(x))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _torchscript(data: bytes, path: Path) -> ExportedModel:
    extra = {TORCHSCRIPT_EXTRA: ""}
    with QuietJit():
        module = torch.jit.load(io.BytesIO(data), map_location="cpu", _extra_files=extra)
    module.eval()
    raw = extra[TORCHSCRIPT_EXTRA]
    meta = jsonio.loads(raw, what="dnas.json of the TorchScript file") if raw else {}

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        from dnas.deploy.checks import flatten

        with torch.no_grad():
            return flatten(module(x))

    return ExportedModel(path, "torchscript", meta, run)


def _onnx(data: bytes, path: Path) -> ExportedModel:
    ort = onnxruntime_module()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    meta = (jsonio.loads(props[METADATA_KEY], what="the ONNX file's dnas metadata")
            if METADATA_KEY in props else {})
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        outs = session.run(None, {name: x.detach().cpu().numpy()})
        return [torch.from_numpy(np.asarray(o)) for o in outs]

    return ExportedModel(path, "onnx", meta, run)


def from_bytes(data: bytes, format: str, path: Path) -> ExportedModel:
    """An exported model from the bytes of its file (``path`` only names it in messages)."""
    try:
        return _torchscript(data, path) if format == "torchscript" else _onnx(data, path)
    except ImportError:
        raise
    except Exception as exc:  # the runtimes raise many types for a file they cannot read
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot load exported model {str(path)!r}: {first}") from None


def detect_format(data: bytes) -> str:
    """``"torchscript"`` (a zip archive) or ``"onnx"`` (anything else), from a file's bytes."""
    return "torchscript" if data[:4] == b"PK\x03\x04" else "onnx"


def load_exported(path: str | os.PathLike[str]) -> ExportedModel:
    """Load a file written by :func:`dnas.export` (either format) to run it on CPU.

    ONNX files need ``onnxruntime`` (``pip install 'dnas[onnx]'``).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"exported model {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return from_bytes(data, detect_format(data), path)
