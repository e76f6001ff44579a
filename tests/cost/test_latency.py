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
    cm = CostModel(net, "latency", x, latency=first, calibrate=0)
    assert first.measured == len(first) > 0
    data = json.loads(path.read_text())
    assert data["format"] == "dnas.latency" and len(data["entries"]) == len(first)
    again = _table(path)
    cm2 = CostModel(net, "latency", x, latency=again, calibrate=0)
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


def test_process_clock(tmp_path):
    lin = torch.nn.Linear(4, 4)
    wall, cpu = _table(tmp_path / "a.json"), _table(tmp_path / "a.json", clock="process")
    args = (torch.randn(1, 4),)
    assert wall.key(lin, args, {}) != cpu.key(lin, args, {})
    assert cpu(lin, [(args, {})]) >= 0
    with pytest.raises(ValueError, match="clock='process'"):
        LatencyTable(tmp_path / "b.json", device="cuda", clock="process")
    with pytest.raises(ValueError, match="clock='sundial'"):
        LatencyTable(tmp_path / "b.json", clock="sundial")


def test_calibration_fits_whole_networks_once(tmp_path):
    from dnas.cost import calibration

    assert calibration.fit([(1.0, 3.0), (2.0, 5.0), (4.0, 9.0)]) == pytest.approx((2.0, 1.0))
    assert calibration.fit([(1.0, 2.0), (1.0, 2.0)]) == pytest.approx((2.0, 0.0))  # no spread
    torch.manual_seed(0)
    net, x = small_space(), example_input()
    path = tmp_path / "lut.json"
    plain = CostModel(net, "latency", x, latency=_table(path), calibrate=0)
    shapes = []

    def timer(model, inp):  # a stand-in clock: 1 µs per weight plus 1 ms
        shapes.append(tuple(inp.shape))
        return 1e-6 * sum(p.numel() for p in model.parameters()) + 1e-3

    table = _table(path)
    tree = plain.tree
    a, b = calibration.calibrate(net, x, tree, plain.groups, table, n=4, timer=timer)
    assert shapes == [(1, 1, 12)] * 4  # whole networks, on the recorded input
    points = table.calibrations[calibration.signature(net, x, table)]["points"]
    assert len(points) == 4 and (a, b) == calibration.fit([tuple(p) for p in points])
    assert max(p[0] for p in points) > 2 * min(p[0] for p in points)  # the extremes spread
    table.save()
    again = _table(path)
    assert calibration.calibrate(net, x, tree, plain.groups, again, n=4,
                                 timer=lambda *_: pytest.fail("timed again")) == (a, b)
    calibrated = CostModel(net, "latency", x, latency=again, calibrate=4)
    for arch in list(all_architectures(net))[::17]:
        assert calibrated.cost(arch) == pytest.approx(a * plain.cost(arch) + b)
