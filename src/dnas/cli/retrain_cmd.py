"""``dnas retrain``: train a found (or published) cell architecture from scratch; test accuracy.

Run folder: ``config.yaml``, ``architecture.json``, ``history.csv``, ``loss.png``, ``results.json``
(test accuracy and loss, parameter count, wall time, input shape, class names), ``model.pt`` (final
weights; ``dnas export`` turns the folder into TorchScript or ONNX), ``checkpoints/last.pt``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from dnas.arch.architecture import Architecture
from dnas.cli import options as opts
from dnas.cli import own_data
from dnas.cli.common import (
    check_data,
    checkpoint_misfit,
    load_data,
    resume_source,
    set_threads,
    subset,
)
from dnas.cli.report import plot_losses, write_history_csv
from dnas.runtime.atomic import enter_output_folder
from dnas.runtime.callbacks import Callback
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from dnas.runtime.checks import check_int
from dnas.runtime.device import resolve_device
from dnas.runtime.jsonio import write_json
from dnas.runtime.memory import check_fits
from dnas.train.trainer import Trainer


def load_architecture(ref: Any) -> Architecture:
    """An architecture from a JSON file, or a published genotype by name (``DARTS_V2``)."""
    if not isinstance(ref, (str, os.PathLike)):
        raise ValueError("retrain needs --arch: an architecture.json file or a genotype name")
    path = Path(ref)
    if not path.exists():
        from dnas.spaces.darts import GENOTYPES, genotype

        if str(ref) in GENOTYPES:
            return genotype(str(ref))
        raise ValueError(
            f"architecture {str(ref)!r} is neither a file nor a known genotype "
            f"({', '.join(GENOTYPES)})"
        )
    return Architecture.load(path)


class _HistoryFile(Callback):
    """Rewrite ``history.csv`` after every epoch, so a killed run keeps its curves."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, trainer: Trainer) -> None:
        write_history_csv(trainer.history, self.path)


def run_retrain(flags: dict[str, Any], config_file: str | None, resume: str | bool | None) -> int:
    """Run ``dnas retrain``; returns the exit status."""
    checkpoint = None
    saved = None
    source = resume_source(resume, flags.get("out"))
    if source is not None:
        run, checkpoint = source
        if (run / "config.yaml").is_file():
            saved = opts.read_yaml(run / "config.yaml")
        flags.setdefault("out", str(run))

    first = opts.resolve("retrain", flags, config_file, saved)
    arch = load_architecture(first["arch"])
    mbconv = arch.meta.get("space") == "mbconv"
    if not mbconv:
        from dnas.spaces.darts import validate_architecture

        validate_architecture(arch)
    # the data searched on, read as it was then (unless --data names other data)
    base: dict[str, Any] = own_data.retrain_base(arch.meta, data_given=first["data"] is not None)
    base.setdefault("data", "cifar10")
    resolved = opts.resolve("retrain", flags, config_file, saved, base=base)
    check_data(resolved)
    for name in ("channels", "layers"):
        check_int(name, resolved[name], 1)
    check_int("n_train", resolved["n_train"], 1, none_ok=True)
    config = opts.retrain_config(resolved)
    set_threads(resolved["threads"])

    data = load_data(resolved)
    own_data.describe(data)
    dim = resolved["dim"] if resolved["dim"] is not None else data.dim
    if dim != data.dim:
        raise ValueError(
            f"dim={dim} does not fit data={resolved['data']!r}, whose inputs are {data.dim}-D"
        )
    resolved["dim"] = dim
    if resolved["out"] is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = own_data.run_name(resolved["data"])
        resolved["out"] = str(Path("runs") / f"retrain-{name}-{stamp}")
    out = Path(resolved["out"])
    enter_output_folder(out)  # no symbolic links below it; a killed run's temporaries removed

    def build() -> torch.nn.Module:
        if mbconv:  # the space is recorded in the architecture; drop path / aux head do not apply
            from dnas.spaces.mbconv import eval_network as mbconv_network

            return mbconv_network(arch, seed=config.seed, num_classes=data.num_classes,
                                  in_channels=data.in_channels, dim=dim)
        from dnas.spaces.darts import eval_network

        return eval_network(
            arch, C=resolved["channels"], layers=resolved["layers"], num_classes=data.num_classes,
            auxiliary=bool(resolved["auxiliary"]), dim=dim, in_channels=data.in_channels,
        )

    check_fits(build, resolve_device(config.device), copies=3,  # before allocating
               what=f"the network (channels={resolved['channels']}, layers={resolved['layers']})",
               advice="use fewer channels (-C) or layers (--layers)")
    torch.manual_seed(config.seed)  # initial weights (the CLI owns the global RNG)
    model = build()
    augment = None
    if config.crop_padding or config.cutout or (config.flip and dim == 2):
        from dnas.data import Augment

        augment = Augment(crop_padding=config.crop_padding, flip=config.flip and dim == 2,
                          cutout=config.cutout, dim=dim)
        augment.check_size(data.X_train.shape[2:])  # now, before anything is written
    trainer = Trainer(
        model, subset(data.X_train, data.y_train, resolved["n_train"]),
        (data.X_test, data.y_test), config, augment=augment, dim=dim,
        callbacks=[Checkpoint(out / "checkpoints"), _HistoryFile(out / "history.csv")],
    )
    board = own_data.tensorboard(resolved, out)
    if board is not None:
        trainer.callbacks.append(board)
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, map_location=trainer.device)
        try:
            trainer.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as err:
            raise ValueError(checkpoint_misfit(checkpoint, err, "retraining")) from None
    opts.write_yaml({**resolved, **config.to_dict()}, out / "config.yaml")
    start = time.perf_counter()
    try:
        result = trainer.run()
    finally:
        if board is not None:
            board.close()
    params = sum(p.numel() for n, p in model.named_parameters() if "auxiliary" not in n)
    results = {
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
        "parameters": params, "epochs": config.epochs, "data": resolved["data"],
        "seconds": time.perf_counter() - start,
        # what `dnas export` needs to rebuild and check the model
        "input_shape": list(data.input_shape), "num_classes": data.num_classes,
        "class_names": list(data.class_names),
    }
    arch.save(out / "architecture.json")
    write_json(out / "results.json", results)
    save_checkpoint({"model": model.state_dict()}, out / "model.pt")
    if result.history:
        write_history_csv(result.history, out / "history.csv")
        plot_losses(result.history, out / "loss.png")
    print(f"retrain finished: {config.epochs} epochs, {params:,} parameters")
    print(f"test accuracy: {result.test_accuracy:.4f}")
    print(f"results: {out / 'results.json'}")
    return 0
