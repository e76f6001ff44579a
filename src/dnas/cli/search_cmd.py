"""``dnas search``: load data, build the search space, run the bilevel search, write the run folder.

Run folder: ``config.yaml`` (resolved options), ``architecture.json``, ``history.csv``,
``alpha.png``, ``loss.png``, ``cell_normal.png`` / ``cell_reduce.png``, ``checkpoints/last.pt``.
Under ``torchrun`` every rank searches its shard of each batch and rank 0 alone writes.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnas.arch.architecture import Architecture
from dnas.bilevel import distributed
from dnas.bilevel.config import PRESETS, SearchConfig
from dnas.bilevel.loop import Searcher
from dnas.cli import budget, own_data, schema
from dnas.cli import options as opts
from dnas.cli.common import (
    check_data,
    checkpoint_misfit,
    load_data,
    note,
    resume_source,
    set_threads,
    subset,
)
from dnas.cli.report import plot_alpha, plot_losses, write_history_csv
from dnas.data.dataset import Dataset
from dnas.runtime.atomic import enter_output_folder
from dnas.runtime.callbacks import Callback
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint
from dnas.runtime.checks import check_bool, check_choice, check_int
from dnas.runtime.device import resolve_device
from dnas.runtime.memory import check_fits
from dnas.spaces import darts as darts_space
from dnas.train.accel import AMP_CHOICES, autocast, compile_forward, resolve_amp, to_channels_last


def _darts_space(resolved: Mapping[str, Any], data: Dataset, config: SearchConfig) -> nn.Module:
    from dnas.spaces.darts import search_network

    kwargs: dict[str, Any] = {}
    if config.method == "pc-darts":  # PC-DARTS splits channels and normalises edges (β)
        kwargs = {"partial_channels": int(config.method_options.get("partial_channels", 4)),
                  "edge_normalization": True}
    return search_network(
        C=resolved["channels"], layers=resolved["layers"], num_classes=data.num_classes,
        dim=resolved["dim"], in_channels=data.in_channels, **kwargs,
    )


#: Options a resumed run may change without changing its result.
_FREE_ON_RESUME = {"out", "progress", "threads", "device", "checkpoint_every", "cache_dir",
                   "data_root", "compile", "tensorboard", "max_data_gb", "cuda_graph"}

def _nb201_space(resolved: Mapping[str, Any], data, config: SearchConfig) -> nn.Module:
    from dnas.spaces import nb201

    table = resolved.get("table")
    ops = tuple(table.ops) if table is not None else nb201.OPS
    partial = int(config.method_options.get("partial_channels", 1)) if (
        config.method == "pc-darts") else 1
    return nb201.search_network(
        C=resolved["channels"], N=resolved["layers"], num_classes=data.num_classes,
        dim=resolved["dim"], in_channels=data.in_channels, ops=ops, partial_channels=partial,
    )


#: Search spaces the command line can build, by ``--space`` name.
SPACES = {"darts": _darts_space, "mbconv": budget.mbconv_space, "nb201": _nb201_space}
#: Per-space defaults below the command line and the config file: for nb201, the search of
#: benchmarks/tabular.py (supernet C=8, one cell per stage; 6 epochs = 372 α steps on the table's
#: data) with the method chosen from its 20-seed table: DARTS with DARTS-PT's perturbation export
#: (the most single searches in the table's top 5%, none collapsed, and under DARTS' 4-search
#: protocol, ``--seeds 0,1,2,3``, the top 5% in 5 of 5 repetitions; benchmarks/RESULTS.md §8).
SPACE_DEFAULTS: dict[str, dict[str, Any]] = {
    "nb201": {"channels": 8, "layers": 1, "epochs": 6, "method": "darts",
              "select": "perturbation"},
}
#: Spaces whose searches scale α's learning rate to their budget (:func:`dnas.bench.budget_config`,
#: as benchmarks/tabular.py does) unless ``--arch-lr`` is given.
BUDGET_RULE_SPACES = ("nb201",)
#: The tabular benchmark a space is scored on when searched on its data (by ``--data`` name).
SPACE_TABLES: dict[tuple[str, str], str] = {("nb201", "mnist1d"): "nb201-mnist1d"}


def space_table(resolved: Mapping[str, Any]) -> str | None:
    """The shipped table a search of these options is scored on, or None (no table for the
    space and data, a table not shipped in this install, or ``--n-train`` changing the data)."""
    from dnas.bench.shipped import names

    name = SPACE_TABLES.get((resolved["space"], resolved["data"]))
    if name is None or resolved.get("n_train") is not None or name not in names():
        return None
    return name


class _HistoryFile(Callback):
    """Rewrite ``history.csv`` after every epoch, so a killed run keeps its curves."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, searcher: Searcher) -> None:
        write_history_csv(searcher.history, self.path)


def _check(resolved: dict[str, Any], data_dim: int | None = None) -> None:
    check_choice("space", resolved["space"], SPACES)
    if resolved["space"] == "nb201" and resolved["dim"] == 2 and resolved["data"] == "mnist1d":
        raise ValueError("dim=2 does not fit data='mnist1d' (1-D sequences)")
    check_data(resolved)
    for name in ("channels", "layers"):
        check_int(name, resolved[name], 1)
    check_int("checkpoint_every", resolved["checkpoint_every"], 0)
    check_int("crop_padding", resolved["crop_padding"], 0)
    check_bool("flip", resolved["flip"])
    check_int("n_train", resolved["n_train"], 2, none_ok=True)
    if resolved["dim"] is not None:
        check_choice("dim", resolved["dim"], (1, 2))
    check_choice("amp", resolved["amp"], AMP_CHOICES)


def run_search(flags: dict[str, Any], config_file: str | None, resume: str | bool | None) -> int:
    """Run ``dnas search``; returns the exit status."""
    source = resume_source(resume, flags.get("out"))
    saved = None
    if source is not None:
        flags.setdefault("out", str(source[0]))  # the folder found, not the one saved (cwd moves)
        if (source[0] / "config.yaml").is_file():
            saved = opts.read_yaml(source[0] / "config.yaml")
    resolved = opts.resolve("search", flags, config_file, saved)
    given = set(flags) | set(opts.read_yaml(config_file) if config_file else {}) | set(saved or {})
    for key, value in SPACE_DEFAULTS.get(resolved["space"], {}).items():
        if key not in given:
            resolved[key] = value
    # a space scored on a table gets the benchmark's budget rule unless α's lr is given
    resolved["budget_rule"] = resolved["space"] in BUDGET_RULE_SPACES and "arch_lr" not in given
    _check(resolved)
    if resolved.get("seeds") not in (None, ""):
        from dnas.cli.seeds_cmd import run_seeds

        return run_seeds(flags, config_file, resume, resolved)
    if saved:
        typed = schema.coerce_all(saved, opts.option_types("search"))
        changed = sorted(k for k, v in typed.items()
                         if k not in _FREE_ON_RESUME and resolved.get(k) != v)
        if changed:
            note(f"resuming with changed option(s) {changed}: the result will differ from an "
                 "uninterrupted run (the learning-rate schedule keeps its saved length)")
    budget.apply_budget(resolved)
    config = opts.search_config(resolved)
    if config.warmup_epochs >= config.epochs:  # the library warns; a command-line search refuses
        raise ValueError(
            f"warmup_epochs={config.warmup_epochs} must be less than epochs={config.epochs}: α "
            "would never move" + (f" ({config.method}'s preset warms up "
                                  f"{PRESETS[config.method]['warmup_epochs']} epochs)"
                                  if "warmup_epochs" in PRESETS.get(config.method, {}) else "")
            + f"; pass --warmup-epochs N with N < {config.epochs}, or more --epochs"
        )
    set_threads(resolved["threads"])

    device = resolve_device(config.device)
    dp = None
    if distributed.launched_by_torchrun():
        dp, device = distributed.init_from_env(device)
    try:
        result = _search(resolved, config, device, dp, source)
    except BaseException:
        if dp is not None:
            distributed.shutdown(failed=True)
        raise
    if dp is not None:
        distributed.shutdown()
    return result


def _search(
    resolved: dict[str, Any],
    config: SearchConfig,
    device: torch.device,
    dp: distributed.DataParallel | None,
    source: tuple[Path, Path] | None,
) -> int:
    main = dp is None or dp.is_main
    if resolved["out"] is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = own_data.run_name(resolved["data"])
        resolved["out"] = str(Path("runs") / f"search-{name}-{config.method}-{stamp}")
    out = Path(resolved["out"])
    if main:  # no symbolic links below it; a killed run's temporaries removed
        enter_output_folder(out)
    if source is None and main and (out / "checkpoints" / "last.pt").exists():
        note(f"{out} holds an earlier run; starting afresh (use --resume to continue it)")

    table_name = space_table(resolved)
    if table_name is not None:
        # search the table's own data (its training part; the test part stays unseen), so the
        # cell found can be looked up
        from dnas.bench.shipped import load as load_table

        table = load_table(table_name)
        resolved["table"] = table
        data = table.recipe().load_data()
        note(f"searching the data of table {table_name!r} ({table.data_text()}); the result is "
             "looked up in it at the end")
    else:
        resolved["table"] = None
        data = load_data(resolved)
    if main:
        own_data.describe(data)
    if resolved["dim"] is None:
        resolved["dim"] = data.dim
    elif resolved["dim"] != data.dim:
        raise ValueError(
            f"dim={resolved['dim']} does not fit data={resolved['data']!r}, whose inputs are "
            f"{data.dim}-D (shape {tuple(data.X_train.shape[1:])})"
        )
    from dnas.data import search_split

    X, y = subset(data.X_train, data.y_train, resolved["n_train"])
    train, valid = search_split(X, y, 0.5, seed=config.seed or 0)
    if resolved.get("budget_rule"):
        from dnas.bench.budget import budget_config

        spe = config.steps_per_epoch or max(1, int(train[0].shape[0]) // config.batch_size)
        scaled = budget_config(config.method, steps=config.epochs * spe, steps_per_epoch=spe)
        config = config.replace(arch_lr=scaled.arch_lr)
        if main:
            note(f"α learning rate {config.arch_lr:.3g}: {config.method}'s preset scaled to "
                 f"{config.epochs * spe} α steps (dnas.bench.budget_config; --arch-lr overrides)")
    if device.type != "cpu":  # the whole split lives on the device: no copies per step
        train = (train[0].to(device), train[1].to(device))
        valid = (valid[0].to(device), valid[1].to(device))
    if dp is not None and config.batch_size % dp.world_size:
        raise ValueError(
            f"batch_size={config.batch_size} must be divisible by the {dp.world_size} processes"
        )

    config = budget.latency_on_device(
        config.replace(device=str(device), progress=config.progress if main else False))
    build = SPACES[resolved["space"]]
    check_fits(  # refused before allocating, when the weights alone cannot fit
        lambda: build(resolved, data, config), device, copies=3 if config.order == 1 else 5,
        what=f"the search network (channels={resolved['channels']}, "
             f"layers={resolved['layers']})",
        advice="use fewer channels (-C) or layers (--layers)",
    )
    if config.seed is not None:
        torch.manual_seed(config.seed)  # the model's initial weights (the CLI owns the globals)
    model = build(resolved, data, config)
    amp_dtype = resolve_amp(resolved["amp"], device, order=config.order)
    callbacks: list[Callback] = [
        Checkpoint(out / "checkpoints", every_steps=resolved["checkpoint_every"], enabled=main)
    ]
    board = own_data.tensorboard(resolved, out) if main else None
    if main:
        callbacks.append(_HistoryFile(out / "history.csv"))
    if board is not None:
        callbacks.append(board)
    augment = None
    flip = resolved["flip"] and resolved["dim"] == 2  # flips are for images
    if resolved["crop_padding"] or flip:
        from dnas.data import Augment

        augment = Augment(crop_padding=resolved["crop_padding"], flip=flip, cutout=0,
                          dim=resolved["dim"])
        augment.check_size(data.X_train.shape[2:])  # now, before anything is written
    searcher = Searcher(model, train, valid, config, callbacks=callbacks, augment=augment)
    if resolved["channels_last"]:
        to_channels_last(searcher.model, resolved["dim"])
    if resolved["compile"]:
        compile_forward(searcher.model)
    searcher.data_parallel = dp
    if dp is not None:  # one starting point for all ranks (on the device: NCCL needs CUDA tensors)
        dp.broadcast_module(searcher.model)
    if source is not None:
        state = load_checkpoint(source[1], map_location=device)
        try:
            with warnings.catch_warnings():  # changed options: noted above, in the CLI's words
                warnings.filterwarnings("ignore", "resuming with changed option", UserWarning)
                searcher.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as err:
            raise ValueError(checkpoint_misfit(source[1], err, "search")) from None
    if main:
        plain = {k: v for k, v in resolved.items() if k not in ("table", "budget_rule")}
        opts.write_yaml({**plain, **config.to_dict(), "device": str(device)},
                        out / "config.yaml")

    try:
        with autocast(device, amp_dtype):
            result = searcher.run()
    finally:
        if board is not None:
            board.close()

    if not main:
        return 0
    arch = result.architecture
    if resolved["space"] == "mbconv":
        from dnas.spaces.mbconv import architecture_meta

        arch.meta.update(architecture_meta(searcher.model))  # type: ignore[arg-type]
    arch.meta.update({
        "space": resolved["space"], "dim": resolved["dim"], "data": resolved["data"],
        "in_channels": data.in_channels, "num_classes": data.num_classes,
        "channels": resolved["channels"], "layers": resolved["layers"],
        "method": config.method, "order": config.order, "seed": config.seed,
        "epochs": config.epochs,
        "alpha": {label: g.alpha.detach().cpu().tolist() for label, g in searcher.groups.items()},
        **own_data.record(resolved),  # a user's data: its absolute path and how it was read
    })
    arch.save(out / "architecture.json")
    if result.history:
        write_history_csv(result.history, out / "history.csv")
        names = {label: list(g.names) for label, g in searcher.groups.items()}
        plot_alpha(result.history, out / "alpha.png", names)
        plot_losses(result.history, out / "loss.png")
    drawn = _draw(arch, out) if resolved["space"] == "darts" else []
    last = result.history[-1] if result.history else {}
    valid_acc = last.get("valid_acc", float("nan"))
    print(f"search finished: {len(result.history)} epochs, valid_acc={valid_acc:.4f}")
    print(f"architecture: {out / 'architecture.json'}")
    if resolved["space"] == "darts":  # the found cells, in the official genotype notation
        genotype = darts_space.to_genotype(arch)
        for cell in ("normal", "reduce"):
            if cell in genotype:
                ops = ", ".join(f"{op}<-{j}" for op, j in genotype[cell])
                print(f"  {cell}: {ops}  concat {genotype[cell + '_concat']}")
    if resolved["space"] == "mbconv":
        for line in budget.describe(arch):
            print(line)
    if resolved["space"] == "nb201":
        from dnas.spaces.nb201 import to_string

        print(f"  cell: {to_string(arch)}")
    if resolved.get("table") is not None:
        from dnas.cli.bench_cmd import missing, report

        table = resolved["table"]
        entry = table.get(arch)
        print(f"on the table {table.name}:")
        print(report(entry, table) if entry is not None else missing(arch, table))
    for path in drawn:
        print(f"cell diagram: {path}")
    return 0


def _draw(arch: Architecture, out: Path) -> list[Path]:
    from dnas.spaces.darts import draw_cell

    if not any(label.startswith(("normal/", "reduce/")) for label in arch):
        return []  # not a DARTS cell
    try:
        return draw_cell(arch, out / "cell", cell="both", format="png")
    except (OSError, RuntimeError) as err:  # a diagram is a convenience: never fail the run on it
        print(f"dnas: note: could not draw the cells: {err}", file=sys.stderr)
        return []
