"""The ``dnas`` command line: ``main(argv) -> exit status``; ``dnas <command> --help`` for each.

    dnas search   [--config FILE] [--data mnist1d|digits|cifar10|synthetic] [--method ...] ...
    dnas retrain  --arch architecture.json|GENOTYPE [--epochs N] ...
    dnas draw     architecture.json|GENOTYPE [--out PATH] [--format png|svg]
    dnas export   RETRAIN_RUN | ARCH --weights model.pt [--format torchscript|onnx] [--out PATH]
    dnas bench    [RUN_OR_ARCH ...] [--table NAME]
    dnas methods  |  dnas genotypes [NAME]

Bad input (a missing file or folder, a corrupt data file, a malformed architecture, an unknown
name, a bad number, a run that diverges to NaN) ends with one line on stderr and exit status 2;
an unexpected error (out of memory, an error inside torch) with one line and status 1;
``--traceback`` shows the traceback instead. Warnings are one line each (``dnas: warning: ...``).
Nothing is parsed or configured at import.
"""

from __future__ import annotations

import argparse
import contextvars
import re
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from dnas.cli import export_cmd, own_data

S = argparse.SUPPRESS


class _UsageError(Exception):
    pass


#: what argparse takes as a negative number, not a flag: also -1e-3, -inf, -nan (its own rule
#: knows -1 and -0.5 only, so "--w-lr -1e-3" was "expected one argument")
_NEGATIVE = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan|infinity)$", re.I)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE

    def error(self, message: str) -> NoReturn:  # one line, no usage block
        raise _UsageError(f"{self.prog}: error: {message}")


def _search_parser(sub: Any) -> None:
    p = sub.add_parser(
        "search", help="search a cell architecture (default: MNIST-1D, 1-D DARTS cells)",
        description="Search a DARTS cell architecture. Options resolve as: built-in defaults < "
        "per-dataset defaults < run folder's config.yaml (--resume) < --config FILE < flags. "
        "With no options: MNIST-1D, 1-D cells, C=8, 4 cells, 5 epochs, batch 64, α lr 3e-3.",
        argument_default=S,
    )
    p.add_argument("--config", help="YAML file of options (keys as the long flags, '_' or '-')")
    p.add_argument("--space", help="search space: darts (cells) | mbconv (widths, depths, "
                   "kernels) | nb201 (NAS-Bench-201 cells; on mnist1d it searches the shipped "
                   "table's data and reports the found cell's percentile)")
    p.add_argument("--dim", type=int, help="1 (sequences) or 2 (images); default: the data's")
    p.add_argument("--data", help="mnist1d | digits | cifar10 | synthetic (default mnist1d), or "
                   "your own: file.npz | X.npy,y.npy | file.csv | image folder")
    p.add_argument("--data-root", help="folder holding cifar-10-batches-py (cifar10)")
    p.add_argument("--cache-dir", help="where generated data (MNIST-1D) is cached")
    p.add_argument("--n-train", type=int, help="use only the first N training samples")
    p.add_argument("--method", help="relaxation (see `dnas methods`; default darts)")
    p.add_argument("--order", type=int, help="1 (first order) or 2 (second order)")
    p.add_argument("--robust", help="collapse-robust method: beta-darts | darts-minus | "
                   "sdarts-rs | sdarts-adv (default: none)")
    p.add_argument("--select", help="export rule: default | perturbation (DARTS-PT)")
    p.add_argument("--seeds", help="comma-separated seeds: one search per seed (run folders "
                   "OUT/seed-N), each scored (table look-up for nb201, else a short retrain), "
                   "mean ± std reported, the best copied to OUT/architecture.json")
    p.add_argument("--processes", type=int, help="parallel searches with --seeds (default: "
                   "one per seed, at most the CPU count)")
    p.add_argument("--score-epochs", type=int, help="epochs of the short retrain that scores "
                   "each seed's architecture (darts space with --seeds; 0: no scoring)")
    p.add_argument("--hypergradient", help="finite-difference | exact (second order)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", "--batch", type=int, dest="batch_size")
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--channels", "-C", type=int, help="initial channels C")
    p.add_argument("--layers", type=int, help="number of cells")
    p.add_argument("--w-lr", type=float, help="weight learning rate (0.025)")
    p.add_argument("--arch-lr", type=float, help="α learning rate (method preset)")
    p.add_argument("--warmup-epochs", type=int, help="epochs before α moves")
    p.add_argument("--grad-clip", type=float, help="weight gradient-norm clip; 0: off")
    p.add_argument("--crop-padding", type=int, help="augment search batches: random crop/shift "
                   "with this padding (cifar10: 4, as DARTS; else 0 = off)")
    p.add_argument("--flip", dest="flip", action="store_true",
                   help="augment search batches: horizontal flips (images; cifar10: on)")
    p.add_argument("--no-flip", dest="flip", action="store_false")
    p.add_argument("--budget-params", type=float, help="search under this many parameters")
    p.add_argument("--budget-flops", type=float, help="search under this many FLOPs per sample")
    p.add_argument("--budget-latency", type=float,
                   help="search under this latency in ms per batch (measured on the device)")
    p.add_argument("--cost-weight", type=float, help="λ of the budget penalty (1.0)")
    p.add_argument("--cost-penalty", help="abs | squared | hinge (abs: pull to the budget)")
    p.add_argument("--budget-tolerance", type=float,
                   help="relative band the exported architecture must reach (0.1)")
    p.add_argument("--budget-export", help="one-shot | probability | validation: which "
                   "in-band architecture is exported (one-shot, the default: a search of the "
                   "band judged by the supernet's validation loss; probability: α's pick moved "
                   "into the band; validation: moved by that loss)")
    p.add_argument("--latency-table", help="latency look-up table file (default: cache folder)")
    p.add_argument("--latency-clock", help="wall | process (CPU time: steadier on a shared "
                   "machine)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--out", help="run folder (default runs/search-<data>-<method>-<time>)")
    p.add_argument("--resume", nargs="?", const=True,
                   help="continue the run in --out, or in the given run folder / checkpoint")
    p.add_argument("--checkpoint-every", type=int, help="also checkpoint every N steps (20; 0: "
                   "epoch ends only)")
    p.add_argument("--cuda-graph", action="store_true",
                   help="replay every iteration from a CUDA graph (CUDA only; darts, fair-darts, "
                   "drnas, pc-darts)")
    _accel_flags(p)
    own_data.add_flags(p, "search")
    p.set_defaults(command="search")


def _retrain_parser(sub: Any) -> None:
    p = sub.add_parser(
        "retrain", help="train an architecture from scratch and report test accuracy",
        description="Retrain a cell architecture with the DARTS recipe (SGD 0.025 cosine, "
        "momentum 0.9, weight decay 3e-4, cutout, drop path 0.2 ramped, auxiliary weight 0.4, "
        "grad clip 5); the data defaults to the one the architecture was searched on.",
        argument_default=S,
    )
    p.add_argument("--arch", help="architecture.json, or a genotype name (`dnas genotypes`)")
    p.add_argument("--config", help="YAML file of options")
    p.add_argument("--data", help="mnist1d | digits | cifar10 | synthetic, or your own: "
                   "file.npz | X.npy,y.npy | file.csv | image folder (default: the search's)")
    p.add_argument("--data-root", help="folder holding cifar-10-batches-py (cifar10)")
    p.add_argument("--cache-dir", help="where generated data (MNIST-1D) is cached")
    p.add_argument("--n-train", type=int, help="use only the first N training samples")
    p.add_argument("--dim", type=int)
    p.add_argument("--channels", "-C", type=int, help="initial channels (36 on CIFAR-10)")
    p.add_argument("--layers", type=int, help="number of cells (20 on CIFAR-10)")
    p.add_argument("--no-auxiliary", dest="auxiliary", action="store_false")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", "--batch", type=int, dest="batch_size")
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-min", type=float)
    p.add_argument("--momentum", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--grad-clip", type=float, help="gradient-norm clip; 0: off")
    p.add_argument("--drop-path", type=float, dest="drop_path_prob")
    p.add_argument("--auxiliary-weight", type=float)
    p.add_argument("--cutout", type=int)
    p.add_argument("--crop-padding", type=int)
    p.add_argument("--no-flip", dest="flip", action="store_false")
    p.add_argument("--eval-batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--device")
    p.add_argument("--out", help="run folder (default runs/retrain-<data>-<time>)")
    p.add_argument("--resume", nargs="?", const=True)
    _accel_flags(p)
    own_data.add_flags(p, "retrain")
    p.set_defaults(command="retrain")


def _accel_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--amp", help="auto (bf16 on CUDA) | bf16 | off (search default: off; "
                   "retrain default: auto)")
    p.add_argument("--channels-last", action="store_true", help="channels-last 2-D activations")
    p.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    p.add_argument("--progress", action="store_true", help="progress bar even when not a terminal")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice; "
                   "1 is often fastest for small models)")


def build_parser() -> argparse.ArgumentParser:
    """The ``dnas`` argument parser (built on demand, never at import)."""
    parser = _Parser(prog="dnas", description="Differentiable neural architecture search.")
    parser.add_argument("--traceback", action="store_true",
                        help="show the traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _search_parser(sub)
    _retrain_parser(sub)
    d = sub.add_parser("draw", help="draw the cells of an architecture (PNG/SVG)")
    d.add_argument("architecture", help="architecture.json, or a genotype name")
    d.add_argument("--out", help="output stem (default: cell, beside the file)")
    d.add_argument("--cell", default="both", help="normal | reduce | both")
    d.add_argument("--format", default="png", help="png | svg")
    export_cmd.add_parser(sub)
    b = sub.add_parser("bench", help="look architectures up in a tabular benchmark (percentile, "
                       "regret); without arguments, describe the table")
    b.add_argument("refs", nargs="*", metavar="RUN_OR_ARCH",
                   help="run folder, architecture.json, or a NAS-Bench-201 string")
    b.add_argument("--table", default="nb201-mnist1d", help="a shipped table or a table .csv")
    b.add_argument("--epochs", type=int, help="the table's training budget to use")
    b.add_argument("--json", action="store_true", help="print the entries as JSON")
    sub.add_parser("methods", help="list the relaxations and their paper presets")
    g = sub.add_parser("genotypes", help="list published genotypes, or print one as JSON")
    g.add_argument("name", nargs="?")
    for command in (sub.choices["search"], sub.choices["retrain"]):
        for action in command._actions:  # flags stay text: dnas.cli.schema types them, as YAML
            if action.type in (int, float):
                action.type = None
    return parser


def _run(args: argparse.Namespace) -> int:
    from dnas.cli import info_cmd

    flags: dict[str, Any] = {
        k: v for k, v in vars(args).items() if k not in ("command", "config", "resume", "traceback")
    }
    if args.command == "search":
        from dnas.cli.search_cmd import run_search

        return run_search(flags, getattr(args, "config", None), getattr(args, "resume", None))
    if args.command == "retrain":
        from dnas.cli.retrain_cmd import run_retrain

        return run_retrain(flags, getattr(args, "config", None), getattr(args, "resume", None))
    if args.command == "export":
        return export_cmd.run_export(args)
    if args.command == "draw":
        return info_cmd.draw(args.architecture, args.out, args.cell, args.format)
    if args.command == "bench":
        from dnas.cli.bench_cmd import run_bench

        return run_bench(args.refs, args.table, args.epochs, args.json)
    if args.command == "methods":
        return info_cmd.list_methods()
    if args.command == "genotypes":
        return info_cmd.genotypes(args.name)
    build_parser().print_help()
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dnas`` command line on ``argv`` (default ``sys.argv[1:]``); returns the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in argv
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            # a context of its own: what a command declares (its output folder) ends with it
            return contextvars.copy_context().run(_run, args)
    except _UsageError as err:
        print(str(err), file=sys.stderr)
        return 2
    except SystemExit as err:  # --help
        return err.code if isinstance(err.code, int) else 0
    except (ValueError, TypeError, OSError) as err:
        if show_traceback:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"dnas: error: {message}", file=sys.stderr)
        return 2
    except (RuntimeError, MemoryError) as err:  # not bad input as far as dnas could tell
        if show_traceback:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"dnas: error: {type(err).__name__}: {first} (--traceback shows where)",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dnas: interrupted", file=sys.stderr)
        return 130


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Warnings on the command line: one line each, like the notes."""
    text = " ".join(str(message).split())
    print(f"dnas: warning: {text}", file=sys.stderr)


def console_entry() -> None:
    """Entry point of the ``dnas`` script."""
    sys.exit(main())
