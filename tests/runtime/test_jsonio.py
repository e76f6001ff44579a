"""Strict, bounded JSON: no NaN/Infinity written or read, size and nesting limits, one clear
error, and the architecture file and retraining's results go through it."""

from __future__ import annotations

import json
import math

import pytest

import dnas
from dnas.runtime import jsonio


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_non_finite_and_names_where(bad):
    data = {"meta": {"alpha": {"edge_0": [0.1, bad]}}, "ok": 1}
    with pytest.raises(ValueError, match=r"meta\.alpha\.edge_0\[1\]=(nan|inf|-inf).*no NaN or "
                       "Infinity"):
        jsonio.dumps(data, what="architecture JSON")


def test_write_json_writes_nothing_when_refused(tmp_path):
    path = tmp_path / "results.json"
    with pytest.raises(ValueError, match="test_loss=nan"):
        jsonio.write_json(path, {"test_loss": math.nan})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '[-Infinity]'])
def test_loads_refuses_non_json_constants(text):
    with pytest.raises(ValueError, match="malformed JSON: .*not JSON"):
        jsonio.loads(text)


def test_loads_bounds_nesting_without_recursion_error():
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(ValueError, match="nested too deeply"):
        jsonio.loads(deep)
    medium = "[" * 100 + "]" * 100  # parses, but deeper than allowed
    with pytest.raises(ValueError, match="nested 100 levels deep; at most 64"):
        jsonio.loads(medium)
    assert jsonio.loads("[" * 64 + "]" * 64, max_depth=64) is not None


def test_loads_and_read_bound_the_size(tmp_path):
    with pytest.raises(ValueError, match="at most 10 are read"):
        jsonio.loads('"' + "x" * 20 + '"', max_bytes=10)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(["x" * 100] * 10))
    with pytest.raises(ValueError, match="larger than 100 bytes"):
        jsonio.read_json(big, max_bytes=100)


def test_read_refuses_what_is_not_a_regular_file(tmp_path):
    with pytest.raises(ValueError, match="is not a regular file"):
        jsonio.read_json(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        jsonio.read_json(tmp_path / "none.json")


def test_architecture_json_is_strict_both_ways(tmp_path):
    arch = dnas.Architecture({"op": "a"}, meta={"alpha": {"op": [0.5, math.nan]}})
    with pytest.raises(ValueError, match=r"alpha\.op\[1\]=nan"):
        arch.save(tmp_path / "arch.json")
    assert not (tmp_path / "arch.json").exists()
    text = '{"format": "dnas.architecture", "version": 1, "choices": {"op": ["a"]}, ' \
           '"meta": {"p": NaN}}'
    with pytest.raises(ValueError, match="malformed architecture JSON"):
        dnas.Architecture.from_json(text)


def test_architecture_file_size_and_nesting_bounded(tmp_path):
    nested = tmp_path / "nested.json"
    body = "[" * 200_000 + "]" * 200_000
    nested.write_text('{"format": "dnas.architecture", "version": 1, "choices": {"op": ["a"]}, '
                      f'"meta": {{"x": {body}}}}}')
    with pytest.raises(ValueError, match="nested too deeply") as err:
        dnas.Architecture.load(nested)
    assert str(nested) in str(err.value)
    huge = tmp_path / "huge.json"
    choices = {f"label_{i}": [f"candidate_{i}" * 8] for i in range(60_000)}
    huge.write_text(json.dumps({"format": "dnas.architecture", "version": 1,
                                "choices": choices, "meta": {}}))
    with pytest.raises(ValueError, match="larger than 4,194,304 bytes"):
        dnas.Architecture.load(huge)
