"""The latency look-up table: blocks timed once, cached on disk (atomically), reused."""

import json
import os

import pytest
import torch

from dnas.cost import CostModel, LatencyTable
from tests.cost.helpers import all_architectures, example_input, small_space


def _table(path, **kw):
    return LatencyTable(path, repeats=3, warmup=1, **kw)


def test_table_is_built_once_and_reused(tmp_path):
    torch.manual_seed(0)
    net, x = small_space(), example_input()
    path = tmp_path / "lut.json"
    first = _table(path)
    cm = CostModel(net, "latency", x, latency=first)
    assert first.measured == len(first) > 0
    data = json.loads(path.read_text())
    assert data["format"] == "dnas.latency" and len(data["entries"]) == len(first)
    again = _table(path)
    cm2 = CostModel(net, "latency", x, latency=again)
    assert again.measured == 0  # every block came from the file
    for arch in list(all_architectures(net))[::13]:
        assert cm2.cost(arch) == cm.cost(arch) > 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_key_depends_on_shape_and_batch(tmp_path):
    lin = torch.nn.Linear(4, 4)
    t1, t8 = _table(tmp_path / "a.json"), _table(tmp_path / "a.json", batch_size=8)
    a, b = (torch.randn(1, 4),), (torch.randn(1, 2, 4),)
    assert t1.key(lin, a, {}) != t1.key(lin, b, {})
    assert t1.key(lin, a, {}) != t8.key(lin, a, {})
    assert t1.key(lin, a, {}) == t1.key(torch.nn.Linear(4, 4), (torch.zeros(1, 4),), {})


def test_failed_write_leaves_the_old_table(tmp_path, monkeypatch):
    path = tmp_path / "lut.json"
    table = _table(path)
    table(torch.nn.Linear(3, 3), [((torch.randn(1, 3),), {})])
    table.save()
    before = path.read_text()
    table(torch.nn.Linear(3, 5), [((torch.randn(1, 3),), {})])

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ValueError, match="cannot write latency table"):
        table.save()
    assert path.read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_tables_and_options(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read latency table"):
        LatencyTable(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a dnas latency table"):
        LatencyTable(bad)
    with pytest.raises(ValueError, match="repeats=0"):
        LatencyTable(tmp_path / "x.json", repeats=0)
