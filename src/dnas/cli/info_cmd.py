"""Small subcommands: ``dnas draw``, ``dnas methods``, ``dnas genotypes``."""

from __future__ import annotations

from pathlib import Path

from dnas.cli.retrain_cmd import load_architecture
from dnas.runtime.atomic import enter_output_folder


def draw(ref: str, out: str | None, cell: str, format: str) -> int:
    """Draw the cell(s) of an architecture file or genotype; prints the files written."""
    from dnas.spaces.darts import draw_cell

    arch = load_architecture(ref)
    if out is None:
        folder = Path(ref).parent if Path(ref).exists() else Path(".")
        out = str(folder / "cell")
    enter_output_folder(Path(out).parent, clean=False)  # the diagrams: no writing via links
    for path in draw_cell(arch, out, cell=cell, format=format):
        print(path)
    return 0


def list_methods() -> int:
    """One line per relaxation: name, what its paper preset changes, and how it treats value
    choices / searchable depth (:func:`dnas.space.value.value_support`)."""
    from dnas.bilevel.config import PRESETS
    from dnas.relaxations import methods
    from dnas.space.value import value_support

    for name in methods():
        preset = PRESETS.get(name, {})
        changes = ", ".join(f"{k}={v}" for k, v in preset.items()) or "DARTS defaults"
        print(f"{name:16s} {changes}")
        print(f"{'':16s} widths/kernels/depth: {value_support(name)}")
    return 0


def genotypes(name: str | None) -> int:
    """List the published genotypes, or print one as architecture JSON."""
    from dnas.spaces.darts import GENOTYPES, genotype

    if name is None:
        for g in GENOTYPES:
            print(g)
        return 0
    print(genotype(name).to_json())
    return 0
