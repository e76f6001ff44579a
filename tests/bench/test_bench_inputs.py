"""Hostile input to the tabular benchmark: one clear error naming the parameter and the value."""

import random

import numpy as np
import pytest

from dnas import bench

CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
ROW = {"arch": CELL, "test_acc": "0.5", "valid_acc": "0.5", "test_loss": "1", "valid_loss": "1",
       "params": "10", "flops": "20", "seconds": "1"}


@pytest.fixture(scope="module")
def table():
    return bench.load()


@pytest.mark.parametrize("epochs,match", [("a", r"epochs='a' must be an integer >= 1 or None"),
                                          (True, r"epochs=True must be an integer >= 1"),
                                          (-1, r"epochs=-1 must be an integer >= 1")])
def test_load_epochs(epochs, match):
    with pytest.raises(ValueError, match=match):
        bench.load(epochs=epochs)


def test_load_seeds():
    with pytest.raises(ValueError, match=r"seeds=\[0, 0\] repeats a seed"):
        bench.load(seeds=[0, 0])
    assert len(bench.load(seeds=[np.int64(0)])) == len(bench.load(seeds=[0]))


def test_load_metadata_not_an_object(tmp_path, table):
    (tmp_path / "t.csv").write_text("arch\n", encoding="utf-8")
    (tmp_path / "t.json").write_text("[1]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"table 't': the metadata must be a JSON object"):
        bench.load(tmp_path / "t.csv")


@pytest.mark.parametrize("seed,match", [("a", r"seed='a' must be an integer >= 0"),
                                        (1.5, r"seed=1.5 must be an integer >= 0"),
                                        (-1, r"seed=-1 must be an integer >= 0")])
def test_random_seed(table, seed, match):
    with pytest.raises(ValueError, match=match):
        table.random(seed)


def test_random_accepts_numpy_and_random(table):
    assert table.random(np.int64(3)) == table.random(3) == table.random(random.Random(3))
    with pytest.raises(TypeError, match=r"in_table='yes' must be True or False"):
        table.random(0, in_table="yes")


@pytest.mark.parametrize("rows,match", [
    (5, r"rows=int must be a list"),
    ([{"arch": CELL}], r"row 0 lacks column\(s\) \['test_acc'"),
    (["x"], r"row 0 is a str, not a mapping"),
    ([{**ROW, "test_acc": "nan"}], r"row 0 test_acc='nan' must be a finite number"),
    ([{**ROW, "valid_loss": "abc"}], r"row 0 valid_loss='abc' must be a finite number"),
    ([{**ROW, "params": "1.5"}], r"row 0 params='1.5' must be an integer"),
])
def test_table_rows(rows, match):
    with pytest.raises(ValueError, match=match):
        bench.Table(rows, "t")
