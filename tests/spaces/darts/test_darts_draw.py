"""Cell diagrams: DOT text, the matplotlib fallback, Graphviz when installed."""

import re
import shutil

import pytest

import dnas
from dnas.spaces.darts import draw, draw_cell, genotype, to_dot, to_genotype

PNG = b"\x89PNG\r\n\x1a\n"
_ID = r'"(?:[^"\\]|\\.)*"'
_ATTRS = r"\[[^\]]*\]"
_STATEMENT = re.compile(
    rf"^\s*(?:(?:rankdir=LR)|(?:node|edge)\s*{_ATTRS}|{_ID}\s*{_ATTRS}?|{_ID}\s*->\s*{_ID}\s*{_ATTRS}?);$"
)


def _name(state):
    return {0: "c_{k-2}", 1: "c_{k-1}"}.get(state, str(state - 2))


@pytest.mark.parametrize("cell", ["normal", "reduce"])
def test_to_dot_lists_every_edge(cell):
    arch = genotype("PDARTS")
    text = to_dot(arch, cell)
    lines = text.strip().splitlines()
    # a digraph: header, one statement per line, closing brace
    assert lines[0] == f"digraph {cell} {{" and lines[-1] == "}"
    for line in lines[1:-1]:
        assert _STATEMENT.match(line), line
    edges = [line.strip() for line in lines if "->" in line]
    expected = [
        f'"{_name(j)}" -> "{_name(i // 2 + 2)}" [label="{op}"];'  # two edges per node
        for i, (op, j) in enumerate(to_genotype(arch)[cell])
    ]
    assert sorted(e for e in edges if "label=" in e) == sorted(expected)
    concat = [e for e in edges if '-> "c_{k}"' in e]
    assert len(concat) == 4 and len(edges) == 8 + 4


def test_to_dot_errors():
    with pytest.raises(ValueError, match="cell='both'"):
        to_dot(genotype("DARTS_V2"), "both")
    reduce_only = dnas.Architecture(
        {k: v for k, v in genotype("DARTS_V2").items() if k.startswith("reduce")}
    )
    with pytest.raises(ValueError, match="no 'normal' cell"):
        to_dot(reduce_only, "normal")


@pytest.fixture
def no_dot(monkeypatch):
    monkeypatch.setattr(draw.shutil, "which", lambda name: None)


def test_matplotlib_fallback_writes_png(tmp_path, no_dot):
    paths = draw_cell(genotype("DARTS_V2"), tmp_path / "cells", cell="both")
    assert [p.name for p in paths] == ["cells_normal.png", "cells_reduce.png"]
    for p in paths:
        data = p.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells_normal.png", "cells_reduce.png"]


def test_both_draws_the_cell_types_present(tmp_path, no_dot):
    reduce_only = dnas.Architecture(
        {k: v for k, v in genotype("DARTS_V2").items() if k.startswith("reduce")}
    )
    paths = draw_cell(reduce_only, tmp_path / "cell.png", cell="both")
    assert [p.name for p in paths] == ["cell_reduce.png"]
    assert paths[0].read_bytes().startswith(PNG)


def test_matplotlib_fallback_svg(tmp_path, no_dot):
    (path,) = draw_cell(genotype("GDAS"), tmp_path / "gdas.svg", cell="reduce")
    assert path.name == "gdas.svg"
    text = path.read_text()
    assert "<svg" in text and "sep_conv_5x5" in text


def test_draw_errors_leave_no_file(tmp_path, no_dot):
    with pytest.raises(ValueError, match="format='pdf'"):
        draw_cell(genotype("DARTS_V2"), tmp_path / "x.png", format="pdf")
    with pytest.raises(ValueError, match="cell='all'"):
        draw_cell(genotype("DARTS_V2"), tmp_path / "x.png", cell="all")
    with pytest.raises(ValueError, match="is not a DARTS cell label"):
        draw_cell(dnas.Architecture({"op": "conv"}), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_graphviz_rendering(tmp_path):
    (path,) = draw_cell(genotype("DARTS_V2"), tmp_path / "normal.svg")
    assert "<svg" in path.read_text()


def test_cells_too_large_to_draw_are_refused_before_any_canvas(tmp_path, no_dot):
    n = draw.MAX_NODES + 1
    choices = {f"normal/edge_{k}_{j}": "skip_connect" for k in range(2, n + 2) for j in range(k)}
    with pytest.raises(ValueError, match=rf"the normal cell has {n} nodes; diagrams are drawn for "
                       rf"cells of at most {draw.MAX_NODES} \(to_dot"):
        draw_cell(dnas.Architecture(choices), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
