"""Cell diagrams: DOT text, rendered by Graphviz's ``dot`` when it is installed, else drawn with
matplotlib.

The picture is that of the DARTS paper (figures 4 and 5): the two cell inputs ``c_{k-2}`` and
``c_{k-1}``, the intermediate nodes 0 .. steps-1 (states 2 .. steps+1), one arrow per kept edge
labelled with its operation, and arrows from the concatenated nodes into the output ``c_{k}``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import IO

from dnas.arch.architecture import Architecture
from dnas.runtime.atomic import atomic_writer
from dnas.spaces.darts.structure import CELL_TYPES, CellSpec, parse_architecture

FORMATS = ("png", "svg")
#: the most nodes of a drawn cell: a 32-node arc diagram is ~10 megapixels (DARTS' cells have 4);
#: the canvas grows with the square of the nodes (a 140-node cell would need ~1.7 GB)
MAX_NODES = 32


def _name(state: int) -> str:
    return {0: "c_{k-2}", 1: "c_{k-1}"}.get(state, str(state - 2))


def _spec(architecture: Architecture, cell: str) -> CellSpec:
    if cell not in CELL_TYPES:
        raise ValueError(f"cell={cell!r} is not one of {list(CELL_TYPES)}")
    cells = parse_architecture(architecture)
    if cell not in cells:
        raise ValueError(f"the architecture has no {cell!r} cell; it has {sorted(cells)}")
    return cells[cell]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(architecture: Architecture, cell: str = "normal") -> str:
    """DOT source of the ``cell`` ("normal" or "reduce") of ``architecture``."""
    spec = _spec(architecture, cell)
    lines = [
        f"digraph {cell} {{",
        "  rankdir=LR;",
        '  node [style="filled,rounded", shape=rect, fontname=helvetica, align=center, '
        "height=0.5, penwidth=2];",
        "  edge [fontname=helvetica, fontsize=14];",
    ]
    for state in (0, 1):
        lines.append(f"  {_quote(_name(state))} [fillcolor=darkseagreen2];")
    for k in range(2, spec.steps + 2):
        lines.append(f"  {_quote(_name(k))} [fillcolor=lightblue];")
    lines.append(f'  {_quote("c_{k}")} [fillcolor=palegoldenrod];')
    for k, incoming in enumerate(spec.nodes, start=2):
        for j, op in incoming:
            lines.append(f"  {_quote(_name(j))} -> {_quote(_name(k))} [label={_quote(op)}];")
    for state in spec.concat:
        lines.append(f'  {_quote(_name(state))} -> {_quote("c_{k}")} [color=gray];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render_graphviz(dot: str, fmt: str, out: IO[bytes]) -> None:
    import graphviz

    out.write(graphviz.Source(dot).pipe(format=fmt))


def _render_matplotlib(spec: CellSpec, cell: str, fmt: str, out: IO[bytes]) -> None:
    """An arc diagram: states on a line in order, edges as arcs above it labelled with their
    operation, the concatenation into the output as gray arcs below it."""
    # A Figure without pyplot: no global state, no display backend needed.
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    n = spec.steps
    x = {state: float(state) for state in range(n + 2)}
    x_out = float(n + 2)
    top = (n + 1) / 4 + 0.35  # the highest arc spans n + 1 positions and rises a quarter of that
    bottom = (n + 2) / 8 + 0.25  # concat arcs bend down an eighth of their span
    unit = 1.5  # inches per position: room for one label between neighbouring states
    fig = Figure(figsize=(unit * (n + 3.2), unit * (top + bottom + 0.3)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(-0.6, n + 2.6)
    ax.set_ylim(-bottom, top + 0.3)
    ax.set_aspect("equal")
    ax.text(-0.5, top + 0.15, f"{cell} cell", fontsize=13, ha="left", va="center")

    def arc(x0: float, x1: float, rad: float, color: str) -> None:
        # arc3 puts the control point at rad * (x1 - x0) below the chord: negative rad bends up
        ax.add_patch(FancyArrowPatch((x0, 0.0), (x1, 0.0), connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=14, color=color, lw=1.3,
                                     shrinkA=16, shrinkB=16, zorder=2))

    for k, incoming in enumerate(spec.nodes, start=2):
        for j, op in incoming:
            arc(x[j], x[k], -0.5, "black")
            # a quadratic Bezier peaks halfway to its control point: (k - j) / 4 above the line
            ax.text((x[j] + x[k]) / 2, (x[k] - x[j]) / 4, op, ha="center", va="center",
                    fontsize=9, zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
    for state in spec.concat:
        arc(x[state], x_out, 0.25, "gray")
    boxes = [(x[s], _name(s), "#c1ffc1" if s < 2 else "#add8e6") for s in x]
    boxes.append((x_out, "c_{k}", "#eee8aa"))
    for xs, text, color in boxes:
        ax.text(xs, 0.0, text, ha="center", va="center", fontsize=11, zorder=3,
                bbox=dict(boxstyle="round,pad=0.35", fc=color, ec="black", lw=1.4))
    fig.savefig(out, format=fmt, dpi=100)


def draw_cell(
    architecture: Architecture,
    path: str | os.PathLike[str],
    cell: str = "normal",
    format: str | None = None,
) -> list[Path]:
    """Draw the ``cell`` of ``architecture`` to ``path``.

    Parameters
    ----------
    architecture : Architecture
        A DARTS cell architecture.
    path : str or path-like
        Output file. With ``cell="both"`` it names the stem: ``<stem>_normal.<fmt>`` and
        ``<stem>_reduce.<fmt>`` are written beside it.
    cell : {"normal", "reduce", "both"}
        Which cell(s) to draw; ``"both"`` draws every cell type the architecture has (a network
        of one or two cells has reduction cells only).
    format : {"png", "svg"}, optional
        Default: the suffix of ``path`` when it is one of those, else ``"png"``.

    Returns
    -------
    list of Path
        The files written (each written to a temporary file first, then renamed).
    """
    path = Path(path)
    if format is None:
        suffix = path.suffix.lower().lstrip(".")
        format = suffix if suffix in FORMATS else "png"
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not one of {list(FORMATS)}")
    if cell == "both":
        wanted = list(parse_architecture(architecture))
        stem = path.with_suffix("") if path.suffix.lower().lstrip(".") in FORMATS else path
        targets = [stem.with_name(f"{stem.name}_{c}.{format}") for c in wanted]
    elif cell in CELL_TYPES:
        wanted = [cell]
        targets = [path if path.suffix.lower() == f".{format}" else path.with_name(
            f"{path.name}.{format}")]
    else:
        raise ValueError(f"cell={cell!r} is not one of {[*CELL_TYPES, 'both']}")
    specs = [_spec(architecture, c) for c in wanted]  # validate everything before writing
    for c, spec in zip(wanted, specs):
        if spec.steps > MAX_NODES:  # the canvas grows with the square of the nodes
            raise ValueError(
                f"the {c} cell has {spec.steps} nodes; diagrams are drawn for cells of at most "
                f"{MAX_NODES} (to_dot(architecture, {c!r}) gives the graph as text)"
            )
    use_dot = shutil.which("dot") is not None
    for c, spec, target in zip(wanted, specs, targets):
        with atomic_writer(target, "wb") as fh:
            if use_dot:
                _render_graphviz(to_dot(architecture, c), format, fh)
            else:
                _render_matplotlib(spec, c, format, fh)
    return targets


__all__ = ["FORMATS", "MAX_NODES", "draw_cell", "to_dot"]
