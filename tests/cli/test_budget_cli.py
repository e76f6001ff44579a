"""``dnas search --space mbconv --budget-params/--budget-flops/--budget-latency`` and the retraining
of what it finds, through main()."""

from __future__ import annotations

import csv
import json
import re

import pytest

from dnas import Architecture
from dnas.cli.main import main

SPACE = ("mbconv:\n  stem: 4\n  kernel_sizes: [3, 5]\n  expansions: [2, 3]\n  stages:\n"
         "    - {widths: [4, 8], depths: [1, 2], stride: 2}\n"
         "    - {widths: [8, 12], depths: [1, 2], stride: 2}\n"
         "data: digits\nn_train: 48\nbatch_size: 8\nsteps_per_epoch: 2\n")


def _run(tmp_path, *flags):
    config = tmp_path / "space.yaml"
    config.write_text(SPACE)
    out = tmp_path / "run"
    argv = ["search", "--space", "mbconv", "--config", str(config), "--epochs", "2",
            "--device", "cpu", "--threads", "1", "--no-progress", "--out", str(out),
            "--cache-dir", str(tmp_path / "c"), *flags]
    return main(argv), out


@pytest.mark.parametrize("flag,value,export", [("--budget-params", "2000", None),
                                               ("--budget-flops", "3e4", None),
                                               ("--budget-params", "2000", "validation"),
                                               ("--budget-params", "2000", "probability")])
def test_budgeted_search_and_retrain(tmp_path, capsys, flag, value, export):
    status, out = _run(tmp_path, flag, value, *(["--budget-export", export] if export else []))
    assert status == 0
    arch = Architecture.load(out / "architecture.json")
    cost = arch.meta["cost"]
    assert cost["kind"] == flag.rsplit("-", 1)[1] and cost["budget"] == float(value)
    assert abs(cost["value"] / float(value) - 1) <= 0.1
    assert cost["export"] == {None: "one-shot", "probability": "probability",
                              "validation": "score", "one-shot": "one-shot"}[export]
    if export in (None, "one-shot"):
        assert 1 <= cost["score"]["evaluated"] <= 128
    assert arch.meta["space"] == "mbconv" and arch.meta["mbconv"]["stem"] == 4
    printed = capsys.readouterr().out
    assert "stage1: width" in printed and "cost:" in printed
    with open(out / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"expected_cost", "argmax_cost", "cost_penalty"} <= set(rows[0])
    if flag == "--budget-params" and not export:
        r = tmp_path / "retrain"
        assert main(["retrain", "--arch", str(out / "architecture.json"), "--epochs", "1",
                     "--n-train", "48", "--device", "cpu", "--threads", "1", "--out", str(r),
                     "--cache-dir", str(tmp_path / "c")]) == 0
        results = json.loads((r / "results.json").read_text())
        assert results["parameters"] == cost["value"]


def test_latency_budget_builds_a_table(tmp_path, capsys):
    # latency is this machine's: a budget no architecture can meet is refused with the range the
    # table measured (the table is kept), and a budget inside that range is searched
    table = tmp_path / "lut.json"
    flags = ("--latency-table", str(table), "--latency-clock", "process")
    status, _ = _run(tmp_path, "--budget-latency", "1e-6", *flags)
    assert status == 2
    err = capsys.readouterr().err
    found = re.search(r"budget=1e-09 is out of reach: the architectures of this model cost "
                      r"(\S+) to (\S+) s per batch", err)
    assert found, err
    low, high = (float(v.replace(",", "")) for v in found.groups())
    assert 0 < low < high and table.exists()
    budget_ms = 1e3 * (low + high) / 2
    status, out = _run(tmp_path, "--budget-latency", f"{budget_ms!r}", *flags)
    assert status == 0
    cost = Architecture.load(out / "architecture.json").meta["cost"]
    assert cost["kind"] == "latency" and cost["budget"] == pytest.approx(budget_ms / 1e3)
    lut = json.loads(table.read_text())
    assert lut["entries"] and lut["calibrations"]  # blocks timed, then whole networks


@pytest.mark.parametrize("flags,message", [
    (["--budget-params", "100", "--budget-flops", "100"], "give one budget"),
    (["--budget-params", "-5"], "budget_params=-5"),
    (["--budget-params", "100", "--cost-penalty", "l2"], "cost_penalty='l2'"),
    (["--budget-params", "3"], "budget=3 is out of reach"),
    (["--budget-params", "2000", "--budget-export", "loss"], "budget_export='loss'"),
])
def test_bad_budgets_are_one_line_errors(tmp_path, capsys, flags, message):
    status, _ = _run(tmp_path, *flags)
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
