"""A user's CSV file: label column by name, numeric features, tabular vs sequence, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnas.data import load


def write_csv(path, header, rows, sep=","):
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def iris_like(path, n=30, sep=","):
    rng = np.random.default_rng(1)
    names = ["setosa", "versicolor", "virginica"]
    rows = [[i, *np.round(rng.normal(size=3) + c, 4), names[c]]
            for i, c in enumerate(np.arange(n) % 3)]
    return write_csv(path, ["id", "a", "b", "c", "species"], rows, sep)


def test_tabular_csv_with_named_label_and_ignored_id(tmp_path):
    path = iris_like(tmp_path / "iris.csv")
    ds = load(path, label_column="species", ignore_columns=["id"])
    assert (ds.kind, ds.dim, ds.in_channels, ds.input_shape) == ("tabular", 1, 3, (3, 1))
    assert ds.class_names == ("setosa", "versicolor", "virginica")
    assert len(ds.y_train) + len(ds.y_test) == 30
    assert "label column 'species'" in ds.description and "3 numeric column(s) a..c" in (
        ds.description
    )
    # a row's values and its label stay together
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    by_value = {float(r[1]): r[4] for r in rows}
    X = torch.cat([ds.X_train, ds.X_test])[:, 0, 0]
    y = torch.cat([ds.y_train, ds.y_test])
    for a, label in zip(X.tolist(), y.tolist()):
        match = min(by_value, key=lambda v: abs(v - a))
        assert abs(match - a) < 1e-4 and by_value[match] == ds.class_names[label]


def test_default_label_names_delimiters_and_string_option(tmp_path):
    path = iris_like(tmp_path / "iris.tsv", sep="\t")
    text = path.read_text().replace("species", "Target")
    path.write_text(text)
    ds = load(path, ignore_columns="id")  # the column called target, found without asking
    assert ds.num_classes == 3 and ds.input_shape == (3, 1)
    semi = iris_like(tmp_path / "semi.csv", sep=";")
    semi.write_text(semi.read_text().replace("species", "label"))
    assert load(semi, ignore_columns="id").input_shape == (3, 1)


def test_numbered_columns_are_one_sequence_per_row(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[*np.round(rng.normal(size=16), 3), i % 2] for i in range(20)]
    path = write_csv(tmp_path / "seq.csv", [f"t{i}" for i in range(16)] + ["label"], rows)
    ds = load(path)
    assert (ds.kind, ds.input_shape) == ("sequence", (1, 16))
    assert "layout NL" in ds.description
    assert load(path, layout="tabular").input_shape == (16, 1)
    short = write_csv(tmp_path / "short.csv", ["x1", "x2", "x3", "label"],
                      [[1, 2, 3, i % 2] for i in range(10)])
    assert load(short).kind == "tabular"  # too few columns to be a series
    with pytest.raises(ValueError, match="layout='NCHW' does not apply to a CSV"):
        load(short, layout="NCHW")


@pytest.mark.parametrize(
    "text, options, needle",
    [
        ("a,b,label\n1,2,0\n3,x,1\n", {}, "line 3: column 'b' holds 'x', not a number"),
        ("a,b,label\n1,2,0\n3,,1\n", {}, "line 3: column 'b' is empty, not a number"),
        ("a,b,label\n1,2,0\n3,4\n", {}, "line 3: 2 fields, but the header names 3 columns"),
        ("a,b,label\n1,2,0\n3,4,\n", {}, "line 3: the label ('label') is empty"),
        ("a,b,label\n1,2,0.5\n3,4,1\n", {}, "are not integers or strings (0.5 at line 2)"),
        ("a,b,label\n1,2,0\n3,4,0\n", {}, "hold a single class (0)"),
        ("a,b,label\n1,2,0\n3,nan,1\n5,inf,1\n", {},
         "holds 2 NaN or infinite value(s) (in float32); the first is nan at line 3, column 'b'"),
        ("a,b,c\n1,2,0\n", {}, "which column holds the labels? Found none of label/target"),
        ("a,label,y\n1,2,0\n", {}, "Found label, y of label/target/class/y"),
        ("a,b,c\n1,2,0\n", {"label_column": "d"}, "has no column 'd' (label_column)"),
        ("a,b,label\n1,2,0\n", {"ignore_columns": ["z"]}, "has no column(s) z (ignore_columns)"),
        ("a,a,label\n1,2,0\n", {}, "names column(s) a more than once"),
        ("1,2,3\n4,5,6\n", {}, "holds numbers, not column names: add a header row"),
        ("", {}, "is empty: expected a header row"),
        ("a,b,label\n", {}, "has a header but no rows"),
        ("label\n1\n0\n", {}, "has no feature columns besides the label"),
        ("a,label\n1,0\n2,1\n", {"image_size": 8}, "image_size=8 does not apply to a CSV file"),
    ],
)
def test_malformed_csv_is_one_clear_error(tmp_path, text, options, needle):
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(ValueError) as info:
        load(tmp_path / "d.csv", **options)
    assert needle in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_csv_size_is_estimated_before_parsing(tmp_path):
    header = ",".join(f"f{i}" for i in range(50)) + ",label"
    row = ",".join(["0.5"] * 50) + ",1"
    (tmp_path / "big.csv").write_text(header + "\n" + "\n".join([row] * 2000) + "\n")
    with pytest.raises(ValueError, match=r"needs ~0.0 GiB .*~2000 rows x 50 columns.*over the "
                                         r"0.0001 GiB limit"):
        load(tmp_path / "big.csv", max_gb=0.0001)
