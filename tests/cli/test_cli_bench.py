"""``dnas bench`` and ``dnas search --seeds`` / ``--space nb201`` through main()."""

from __future__ import annotations

import csv
import json

from dnas import Architecture
from dnas.cli.main import main
from dnas.spaces import nb201

BEST = nb201.to_string(("nor_conv_3x3",) * 6)


def _table(tmp_path, **meta):
    """A table file of 12 cells: accuracy grows with the number of live conv edges."""
    cells = [*nb201.unique_cells(nb201.OPS_4)[::90][:11], nb201.from_string(BEST)]
    rows = []
    for c in cells:
        acc = 0.5 + 0.05 * sum(o == "nor_conv_3x3" for o in c) + 0.001 * len(rows)
        for seed in (0, 1):
            rows.append({"arch": nb201.to_string(c), "seed": seed, "epochs": 10,
                         "test_acc": acc + 0.002 * seed, "valid_acc": acc, "test_loss": 1.0,
                         "valid_loss": 1.0, "params": 1000, "flops": 20000, "seconds": 3.0})
    path = tmp_path / "toy.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "toy.json").write_text(json.dumps({"ops": list(nb201.OPS_4), "epochs": 10,
                                                   **meta}))
    return path, cells


def test_bench_looks_up_strings_files_and_run_folders(tmp_path, capsys):
    path, cells = _table(tmp_path)
    assert main(["bench", "--table", str(path)]) == 0
    assert "12 unique cells" in capsys.readouterr().out
    assert main(["bench", BEST, "--table", str(path)]) == 0
    out = capsys.readouterr().out
    assert "percentile 100.0 (rank 1 of 12)" in out and "regret 0.00" in out
    run = tmp_path / "run"
    for s, c in enumerate(cells[:2]):
        nb201.to_architecture(c).save(run / f"seed-{s}" / "architecture.json")
    assert main(["bench", str(run), "--table", str(path), "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["arch"] for e in entries] == [nb201.to_string(c) for c in cells[:2]]
    assert main(["bench", str(run), "--table", str(path)]) == 0
    assert "2 architectures: test accuracy" in capsys.readouterr().out


def test_bench_errors_are_one_line(tmp_path, capsys):
    path, _ = _table(tmp_path)
    assert main(["bench", "|conv~0|", "--table", str(path)]) == 2
    assert "NAS-Bench-201" in capsys.readouterr().err
    assert main(["bench", str(tmp_path / "nothing"), "--table", str(path)]) == 2
    assert main(["bench", BEST, "--table", "no-such-table"]) == 2
    assert "unknown table" in capsys.readouterr().err


def test_bench_on_a_partial_table_reports_coverage_and_missing_cells(tmp_path, capsys):
    size = len(nb201.unique_cells(nb201.OPS_4))
    path, cells = _table(tmp_path, unique_cells=size)
    assert main(["bench", "--table", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"12 of {size} unique cells" in out and "partial table" in out
    absent = next(c for c in nb201.unique_cells(nb201.OPS_4) if c not in cells)
    assert main(["bench", nb201.to_string(absent), BEST, "--table", str(path)]) == 0
    out = capsys.readouterr().out
    assert "not in table toy" in out and "no score" in out
    assert "rank 1 of 12 cells trained so far" in out
    assert main(["bench", nb201.to_string(absent), "--table", str(path)]) == 1
    capsys.readouterr()
    assert main(["bench", nb201.to_string(absent), "--table", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["entry"] is None


def test_search_seeds_runs_scores_and_keeps_the_best(tmp_path, capsys):
    out = tmp_path / "seeds"
    argv = ["search", "--space", "nb201", "--data", "digits", "-C", "4", "--layers", "1",
            "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--n-train", "48",
            "--seeds", "0,1", "--processes", "1", "--score-epochs", "1", "--device", "cpu",
            "--threads", "1", "--no-progress", "--out", str(out), "--robust", "beta-darts",
            "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "mean ± std over 2 seeds" in text
    summary = json.loads((out / "seeds.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [0, 1]
    assert all(0 <= r["score"] <= 1 for r in summary["runs"])
    best = Architecture.load(out / "architecture.json")
    chosen = next(r for r in summary["runs"] if r["seed"] == summary["best_seed"])
    assert {k: list(v) for k, v in best.items()} == chosen["architecture"]
    assert (out / "seed-1" / "config.yaml").is_file()
    assert "robust: beta-darts" in (out / "seed-0" / "config.yaml").read_text()


def test_bad_seeds_are_rejected(capsys):
    assert main(["search", "--seeds", "0,x", "--no-progress"]) == 2
    assert "seeds" in capsys.readouterr().err
    assert main(["search", "--seeds", "1,1", "--no-progress"]) == 2


def test_nb201_search_scales_the_arch_lr_to_its_budget_unless_given(tmp_path, capsys):
    import yaml

    base = ["search", "--space", "nb201", "--data", "digits", "-C", "4", "--epochs", "1",
            "--steps-per-epoch", "2", "--batch-size", "8", "--n-train", "48", "--device", "cpu",
            "--threads", "1", "--no-progress", "--cache-dir", str(tmp_path / "c")]
    assert main([*base, "--out", str(tmp_path / "a"), "--method", "drnas"]) == 0
    saved = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert saved["arch_lr"] == 6e-4 * 19550 / 2  # drnas' preset × paper steps / 2 steps
    assert "budget_rule" not in saved and "scaled to 2 α steps" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "b"), "--arch-lr", "0.001"]) == 0
    saved = yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())
    assert saved["arch_lr"] == 0.001
    # the space's default, chosen on the table (RESULTS §8): DARTS with DARTS-PT's export
    assert (saved["method"], saved["select"]) == ("darts", "perturbation")
