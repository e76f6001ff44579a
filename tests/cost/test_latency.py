"""The latency look-up table: blocks timed once, cached on disk (atomically), reused."""

import json
import os

import pytest
import torch

import dnas
from dnas.cost import CostModel, LatencyTable
from tests.cost.helpers import all_architectures, example_input, small_space


def _table(path, **kw):
    return LatencyTable(path, repeats=3, warmup=1, **{"sweeps": 1, **kw})


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
    for device in ("tpu", 3, "meta"):
        with pytest.raises(ValueError, match=f"device={device!r}"):
            LatencyTable(tmp_path / "x.json", device=device)


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


class _Clock:
    """A scripted clock: each call of :meth:`run` lasts the next of ``durations`` seconds."""

    def __init__(self, durations):
        self.durations, self.now = list(durations), 0.0

    def run(self):
        self.now += self.durations.pop(0)

    def perf_counter(self):
        return self.now

    process_time = perf_counter


def test_time_calls_statistic(monkeypatch):
    from dnas.cost import latency

    # two rounds of 5 calls, 1 warm-up each: medians 5 and 4, fastest call 1
    durations = [9, 5, 1, 7, 5, 5, 9, 4, 4, 8, 2, 4]
    for statistic, expected in (("min", 1.0), ("median", 4.0)):
        for clock in ("wall", "process"):
            fake = _Clock(durations)
            monkeypatch.setattr(latency, "time", fake)
            got = latency.time_calls(fake.run, 5, warmup=1, rounds=2, clock=clock,
                                     statistic=statistic)
            assert got == expected and not fake.durations
    with pytest.raises(ValueError, match="statistic='mean'"):
        latency.time_calls(lambda: None, 5, statistic="mean")
    with pytest.raises(ValueError, match="statistic='mean'"):
        LatencyTable(persist=False, statistic="mean")


def test_entries_keep_their_fastest_sweep(tmp_path, monkeypatch):
    torch.manual_seed(0)
    net, x = small_space(), example_input()
    seconds = iter(range(1000, 0, -1))  # every timing faster than the one before
    timed = []

    def fake_time(self, module, args, kwargs):
        timed.append(self.key(module, args, kwargs))
        return next(seconds) * 1e-6

    monkeypatch.setattr(LatencyTable, "time", fake_time)
    path = tmp_path / "lut.json"
    table = LatencyTable(path, sweeps=3)
    CostModel(net, "latency", x, latency=table, calibrate=0)
    n = len(table)
    assert len(timed) == 3 * n and set(timed) == set(table.entries)  # each entry once a sweep
    assert all(e["sweeps"] == 3 for e in table.entries.values())
    last = {k: i for i, k in enumerate(timed)}  # the last timing is the fastest one
    assert all(table.entries[k]["seconds"] == (1000 - last[k]) * 1e-6 for k in table.entries)
    assert table.sweep == 1
    timed.clear()
    CostModel(net, "latency", x, latency=LatencyTable(path, sweeps=3), calibrate=0)
    assert timed == []  # complete entries come from the file
    CostModel(net, "latency", x, latency=LatencyTable(path, sweeps=4), calibrate=0)
    assert len(timed) == n  # one more sweep asked for: each entry timed once more
    with pytest.raises(ValueError, match="sweeps=0"):
        LatencyTable(path, sweeps=0)


def test_statistic_is_part_of_the_key(tmp_path):
    lin, args = torch.nn.Linear(4, 4), (torch.randn(1, 4),)
    fastest, median = _table(tmp_path / "a.json"), _table(tmp_path / "a.json", statistic="median")
    assert fastest.statistic == "min" and fastest.key(lin, args, {}) != median.key(lin, args, {})


def test_time_networks_interleaves_passes(monkeypatch):
    from dnas.cost import latency

    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 5)
    order = []
    results = {3: iter([5.0, 2.0, 4.0]), 5: iter([1.0, 3.0, 0.5])}

    def fake(fn, *args, **kwargs):
        out = fn()
        order.append(out.shape[-1])
        return next(results[out.shape[-1]])

    monkeypatch.setattr(latency, "time_calls", fake)
    table = LatencyTable(persist=False, batch_size=2)
    assert table.time_networks([a, b], torch.randn(7, 4), passes=3) == [2.0, 0.5]
    assert order == [3, 5, 3, 5, 3, 5]  # pass after pass over every network
    with pytest.raises(ValueError, match="passes=0"):
        table.time_networks([a], torch.randn(1, 4), passes=0)


def test_calibration_times_whole_networks_together(tmp_path, monkeypatch):
    from dnas.cost import calibration

    torch.manual_seed(0)
    net, x = small_space(), example_input()
    plain = CostModel(net, "latency", x, latency=_table(tmp_path / "lut.json"), calibrate=0)
    calls = []

    def networks(self, models, example_input, passes=5):
        calls.append((len(models), passes, tuple(example_input.shape)))
        return [2e-6 * sum(p.numel() for p in m.parameters()) for m in models]

    monkeypatch.setattr(LatencyTable, "time_networks", networks)
    table = _table(tmp_path / "lut.json")
    calibration.calibrate(net, x, plain.tree, plain.groups, table, n=5, passes=2)
    assert calls == [(5, 2, tuple(x.shape))]  # one interleaved timing of all five
    points = table.calibrations[calibration.signature(net, x, table)]["points"]
    assert [p[1] for p in points] == networks(None, [dnas.fix(net, arch) for arch in
                                                     calibration.architectures(
        plain.tree, plain.groups, 5, torch.Generator().manual_seed(0))], x)
