"""``dnas export``: a retrained DARTS cell network as a TorchScript or ONNX file.

    dnas export RUN                         # a `dnas retrain` run folder (model.pt + architecture)
    dnas export ARCH --weights model.pt     # architecture.json or a genotype name, trained weights
    dnas export RUN --format onnx --out model.onnx

The network is rebuilt from the weights themselves (channels, cells, classes, input channels,
1-D or 2-D, auxiliary head: all read off the state dict's shapes), loaded strictly, exported by
:func:`dnas.export` and checked against PyTorch (the largest absolute difference is printed; more
than ``--atol``, 1e-4, is an error and nothing is written). The input shape comes from the run's
``results.json`` (``--input-shape`` otherwise). A search run (its checkpoint holds the search
network, every candidate mixed) is refused: retrain the architecture first.
"""

from __future__ import annotations

import argparse
import json
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dnas.arch.architecture import Architecture

DEFAULT_NAMES = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}


def add_parser(sub: Any) -> None:
    """The ``export`` subcommand."""
    p = sub.add_parser(
        "export", help="write a retrained model as TorchScript or ONNX, checked against PyTorch",
        description="Export a retrained DARTS cell network: a `dnas retrain` run folder, or an "
        "architecture (architecture.json or a genotype name) with --weights.",
    )
    p.add_argument("source", metavar="RUN_OR_ARCH",
                   help="retrain run folder, or architecture.json / genotype name with --weights")
    p.add_argument("--format", choices=("torchscript", "onnx"),
                   help="default: from --out's suffix, else torchscript")
    p.add_argument("--weights", help="model.pt written by `dnas retrain` (default: the run's)")
    p.add_argument("--out", help="file to write (default: model.onnx / model.torchscript.pt "
                   "beside the weights)")
    p.add_argument("--input-shape", help="one input's shape, C,L or C,H,W (default: recorded by "
                   "the retraining)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip the comparison with PyTorch (ONNX: needs no onnxruntime then)")
    p.add_argument("--atol", type=float, default=1e-4,
                   help="largest absolute difference accepted (1e-4)")
    p.add_argument("--opset", type=int, help="ONNX opset version (default: the exporter's)")
    p.set_defaults(command="export")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _sources(source: str, weights: str | None) -> tuple[Architecture, Path, Path]:
    """(architecture, weights file, folder of the run the weights belong to)."""
    from dnas.cli.retrain_cmd import load_architecture

    path = Path(source)
    if path.is_dir():
        if weights is None and (path / "model.pt").is_file():  # a retrain run
            arch_file = path / "architecture.json"
            if arch_file.is_file():
                return Architecture.load(arch_file), path / "model.pt", path
            config = path / "config.yaml"
            if config.is_file():
                from dnas.cli.options import read_yaml

                return load_architecture(read_yaml(config).get("arch")), path / "model.pt", path
            raise ValueError(f"{str(path)!r} holds model.pt but no architecture.json")
        if (path / "architecture.json").is_file():
            if weights is None:
                raise ValueError(
                    f"{str(path)!r} is a search run: its checkpoint holds the search network "
                    "(every candidate mixed), not a model to deploy; fix and retrain the "
                    f"architecture first (dnas retrain --arch {path / 'architecture.json'}), then "
                    "export the retrain run folder (or pass --weights model.pt)"
                )
            path = path / "architecture.json"
        else:
            raise ValueError(
                f"{str(path)!r} is neither a retrain run folder (model.pt) nor a search run "
                "folder (architecture.json)"
            )
    arch = load_architecture(str(path))
    if weights is None:
        raise ValueError(
            "an architecture alone has no trained weights: pass --weights model.pt (written by "
            "`dnas retrain`), or export the retrain run folder"
        )
    w = Path(weights)
    if not w.is_file():
        raise ValueError(f"weights {weights!r} do not exist")
    return arch, w, w.parent


def _state(weights: Path) -> dict[str, torch.Tensor]:
    from dnas.runtime.checkpoint import load_checkpoint

    state = load_checkpoint(weights)
    if "a_optimizer" in state or any(k.endswith("alpha") for k in state["model"]):
        raise ValueError(
            f"{str(weights)!r} holds a search network (architecture parameters α): fix and "
            "retrain the architecture first (dnas retrain --arch architecture.json), then export "
            "the retrained model.pt"
        )
    return dict(state["model"])


def network_shape(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """``eval_network`` arguments read off a DARTS evaluation network's state dict."""
    try:
        stem = state["stem.0.weight"]
        classifier = state["classifier.weight"]
    except KeyError as exc:
        raise ValueError(
            f"the weights are not those of a DARTS evaluation network (no {exc.args[0]!r})"
        ) from None
    cells = {int(m.group(1)) for k in state for m in [re.match(r"cells\.(\d+)\.", k)] if m}
    if stem.shape[0] % 3 or not cells:
        raise ValueError("the weights are not those of a DARTS evaluation network (stem, cells)")
    return {
        "C": stem.shape[0] // 3, "layers": max(cells) + 1, "num_classes": classifier.shape[0],
        "in_channels": stem.shape[1], "dim": stem.dim() - 2,
        "auxiliary": any(k.startswith("auxiliary_head.") for k in state),
    }


def _input_shape(text: str | None, run: Path, shape: Mapping[str, Any]) -> tuple[int, ...]:
    if text is not None:
        try:
            found = tuple(int(v) for v in re.split(r"[,x ]+", text.strip()) if v)
        except ValueError:
            found = ()
        if not found:
            raise ValueError(f"--input-shape {text!r} must be integers such as 3,32,32")
    elif (run / "results.json").is_file() and "input_shape" in _read_json(run / "results.json"):
        found = tuple(int(v) for v in _read_json(run / "results.json")["input_shape"])
    else:
        raise ValueError(
            f"no input shape is recorded in {str(run / 'results.json')!r}: pass --input-shape "
            f"C,{'L' if shape['dim'] == 1 else 'H,W'}"
        )
    want = shape["dim"] + 1
    if len(found) != want or found[0] != shape["in_channels"] or min(found) < 1:
        raise ValueError(
            f"input shape {found} does not fit this {shape['dim']}-D network of "
            f"{shape['in_channels']} input channel(s): expected {want} positive numbers starting "
            f"with {shape['in_channels']}"
        )
    return found


def run_export(args: argparse.Namespace) -> int:
    """Run ``dnas export``; returns the exit status."""
    from dnas.deploy import export
    from dnas.spaces.darts import eval_network, validate_architecture

    arch, weights, run = _sources(args.source, args.weights)
    validate_architecture(arch)
    state = _state(weights)
    shape = network_shape(state)
    input_shape = _input_shape(args.input_shape, run, shape)
    model = eval_network(arch, **shape)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:2])
        raise ValueError(
            f"weights {str(weights)!r} do not fit the architecture: {detail}"
        ) from None
    fmt = args.format
    if fmt is None:
        fmt = "onnx" if args.out and args.out.lower().endswith(".onnx") else "torchscript"
    out = Path(args.out) if args.out else run / DEFAULT_NAMES[fmt]
    results = _read_json(run / "results.json") if (run / "results.json").is_file() else {}
    metadata = {
        "architecture": arch.to_dict(),
        "network": {k: shape[k] for k in ("C", "layers", "num_classes", "dim", "in_channels")},
    }
    if results.get("class_names"):
        metadata["class_names"] = results["class_names"]
    if results.get("data"):
        metadata["data"] = results["data"]
    with warnings.catch_warnings():
        # the network's own input check is constant under tracing: the warning is moot here
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        try:
            report = export(model, out, format=fmt, input_shape=input_shape, verify=args.verify,
                            atol=args.atol, opset=args.opset, metadata=metadata)
        except ImportError as exc:  # an optional extra: one line, exit status 2
            raise ValueError(str(exc)) from None
    shown = ", ".join("batch" if s is None else str(s) for s in report.input_shape)
    print(f"exported: {report.path} ({report.format}, input ({shown}))")
    if report.max_abs_diff is None:
        print("not checked against PyTorch (--no-verify)")
    else:
        batches = ", ".join(str(b) for b in report.checked_batches)
        print(f"checked against PyTorch on random inputs (batch sizes {batches}): max abs diff "
              f"{report.max_abs_diff:.3g} <= {args.atol:g}")
    return 0
