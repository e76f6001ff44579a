"""Tabular benchmark look-ups: canonical rows, scores, loading a table file, and one real row."""

from __future__ import annotations

import csv
import json
import random
import re

import pytest
import torch

import dnas
from dnas.bench import Recipe, Table, load, train_row
from dnas.spaces import nb201

CONV = nb201.to_string(("nor_conv_3x3",) * 6)


def _rows(n_cells=40, seed=0):
    """A small table: accuracy = share of conv edges among live edges, plus seeded jitter."""
    rng = random.Random(seed)
    cells = rng.sample(nb201.unique_cells(nb201.OPS_4), n_cells)
    cells.append(nb201.from_string(CONV))
    rows = []
    for c in cells:
        base = 0.5 + 0.4 * sum(o == "nor_conv_3x3" for o in c) / 6
        for s in (0, 1):
            acc = base + 0.001 * s
            rows.append({"arch": nb201.to_string(c), "seed": s, "epochs": 10, "test_acc": acc,
                         "valid_acc": acc - 0.01, "test_loss": 1 - acc, "valid_loss": 1 - acc,
                         "params": 100, "flops": 1000, "seconds": 1.5})
    return rows


def test_query_scores_and_canonical_rows():
    table = Table(_rows(), "toy", nb201.OPS_4)
    assert len(table) == 41
    best = table.optimum()
    assert best.arch == CONV and best.rank == 1 and best.regret == 0.0
    assert best.percentile == 100.0
    assert best.test_acc == pytest.approx(0.9005) and best.test_std == pytest.approx(0.0005)
    assert best.seeds == 2
    # the same cell with a dead edge and nodes 1, 2 swapped finds the same row
    e = table.entries()[len(table) // 2]
    ops = list(nb201.from_string(e.arch))
    assert table.query(ops).arch == e.arch
    assert table.query(nb201.to_architecture(e.arch)).arch == e.arch
    # percentile: share of rows at most as good; regret in points
    accs = sorted(x.test_acc for x in table.entries())
    assert e.percentile == pytest.approx(100 * sum(a <= e.test_acc for a in accs) / len(accs))
    assert e.regret == pytest.approx(100 * (best.test_acc - e.test_acc))


def test_isomorphic_and_dead_edge_variants_query_the_same_row():
    a = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    swapped = "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    lone = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|avg_pool_3x3~1|none~2|"
    dead = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|none~2|"
    keys = {nb201.to_string(nb201.canonical(x)) for x in (a, lone)}
    base = [r for r in _rows() if r["arch"] not in keys]
    extra = [{**base[0], "arch": x, "test_acc": acc, "valid_acc": acc}
             for x, acc in ((a, 0.7), (lone, 0.6))]
    table = Table(base + extra, "toy", nb201.OPS_4)
    assert table.query(swapped).arch == table.query(a).arch
    assert table.query(swapped).test_acc == pytest.approx(0.7)
    assert table.query(dead).test_acc == pytest.approx(0.6)  # node 2 never reaches the output


def test_random_is_seeded_and_uniform_over_the_space():
    table = Table(_rows(), "toy", nb201.OPS_4)
    assert table.random(3) == table.random(3)
    draws = [table.random(rng) for rng in [random.Random(0)] for _ in range(200)]
    ops = [o for d in draws for o in nb201.to_ops(d)]
    assert set(ops) == set(nb201.OPS_4)


def test_bad_queries_name_the_problem():
    table = Table(_rows(), "toy", nb201.OPS_4)
    with pytest.raises(ValueError, match="nor_conv_1x1"):
        table.query(("nor_conv_1x1",) * 6)
    with pytest.raises(ValueError, match="NAS-Bench-201"):
        table.query("|conv~0|")
    missing = next(c for c in nb201.unique_cells(nb201.OPS_4) if nb201.to_string(c) not in
                   {e.arch for e in table.entries()})
    with pytest.raises(KeyError, match="no row"):
        table.query(missing)
    with pytest.raises(ValueError, match="unknown table"):
        load("no-such-table")
    with pytest.raises(ValueError, match="table file '.*missing.csv' does not exist"):
        load("missing.csv")
    with pytest.raises(ValueError, match="name=3 must be"):
        load(3)
    for bad in (None, 7, [1, 2, 3, 4, 5, 6]):
        with pytest.raises(ValueError, match=re.escape(f"architecture={bad!r} must be")):
            table.query(bad)


def _write_table(tmp_path, rows):
    """``rows`` as a table file ``mine.csv`` with its ``mine.json`` beside it."""
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "mine.json").write_text(json.dumps({"ops": list(nb201.OPS_4), "epochs": 10}))
    return path


def test_load_a_table_file(tmp_path):
    rows = _rows() + [{**r, "epochs": 20} for r in _rows()[:4]]
    path = _write_table(tmp_path, rows)
    table = load(path)
    assert len(table) == 41 and table.meta["budgets"] == [10, 20]
    assert len(load(path, epochs=20)) == 2
    with pytest.raises(ValueError, match="epochs=30"):
        load(path, epochs=30)


def test_train_row_trains_and_measures_one_cell():
    data = dnas.data.load("mnist1d", num_samples=300)
    recipe = Recipe(C=4, N=1, epochs=1, batch_size=32, train_size=160)
    row = train_row(CONV, recipe, data, seed=0)
    assert row["arch"] == CONV and row["epochs"] == 1
    assert 0.0 <= row["test_acc"] <= 1.0 and row["flops"] > 0
    net = nb201.fixed_network(CONV, C=4, N=1, num_classes=10, dim=1)
    assert row["params"] == sum(p.numel() for p in net.parameters())
    again = train_row(CONV, recipe, data, seed=0)
    assert again["test_acc"] == row["test_acc"]  # same seed, same row
    torch.manual_seed(0)


def test_a_partial_table_says_so_and_scores_over_what_it_holds():
    rows = _rows()
    size = len(nb201.unique_cells(nb201.OPS_4))
    table = Table(rows, "part", nb201.OPS_4, {"unique_cells": size})
    assert table.space_size == size and table.complete is False
    assert table.coverage == pytest.approx(41 / size)
    assert f"41 of {size} unique cells" in repr(table) and "partial" in repr(table)
    held = {e.arch for e in table.entries()}
    missing = next(c for c in nb201.unique_cells(nb201.OPS_4) if nb201.to_string(c) not in held)
    assert table.get(missing) is None
    with pytest.raises(KeyError, match="partial"):
        table.query(missing)
    # random(in_table=True) only returns cells with a row; plain random draws the whole space
    rng = random.Random(0)
    assert all(table.random(rng, in_table=True) in table for _ in range(20))
    assert not all(table.random(rng) in table for _ in range(50))
    # the best held cell is the optimum: regrets and percentiles are over held cells
    assert table.optimum().regret == 0.0 and table.optimum().percentile == 100.0
    full = Table(rows, "full", nb201.OPS_4, {"unique_cells": 41})
    assert full.complete is True and "(complete)" in repr(full)
    with pytest.raises(ValueError, match="unique_cells"):
        Table(rows, "bad", nb201.OPS_4, {"unique_cells": 3})


def test_load_only_some_training_seeds(tmp_path):
    rows = _rows()
    path = _write_table(tmp_path, rows)
    both, first, second = load(path), load(path, seeds=[0]), load(path, seeds=[1])
    assert both.query(CONV).seeds == 2 and first.query(CONV).seeds == 1
    assert second.query(CONV).test_acc - first.query(CONV).test_acc == pytest.approx(0.001)
    assert both.query(CONV).test_acc == pytest.approx(first.query(CONV).test_acc + 0.0005)
    assert first.meta["seeds"] == [0]
    with pytest.raises(ValueError, match=r"training seed\(s\) \[2\].*it has seeds \[0, 1\]"):
        load(path, seeds=[2])
    for bad in ([], "0", [-1], [True], 1):
        with pytest.raises(ValueError, match="seeds="):
            load(path, seeds=bad)
    assert len(load(seeds=[1, 2])) == len(load())  # the shipped table: three seeds per cell
