"""One typed schema for YAML values and flags: every wrong type is one line naming the option,
the value and what is allowed; numbers written as text (flags, YAML's ``3e-4``) are numbers."""

from __future__ import annotations

import pytest

from dnas.cli import options as opts
from dnas.cli.main import main
from dnas.cli.schema import PathText, coerce
from dnas.runtime.checks import ParameterError

TINY = ["--data", "digits", "--n-train", "32", "-C", "4", "--layers", "3", "--batch", "8",
        "--epochs", "1", "--device", "cpu", "--no-progress", "--threads", "1"]


def _one_line(capsys, argv, needle):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err, err


@pytest.mark.parametrize(
    "yaml_text, needle",
    [
        ('w_lr: "abc"\n', "w_lr='abc' must be a number"),
        ('grad_clip: "five"\n', "grad_clip='five' must be a number or None"),
        ("out: 7\n", "out=7 must be a path (text) or None"),
        ('arch_betas: "ab"\n', "arch_betas='ab' must be a list of 2 numbers"),
        ("arch_betas: [0.5, 0.9, 0.1]\n", "arch_betas=[0.5, 0.9, 0.1] must be a list of 2 numbers"),
        ("arch_betas: [1.5, 0.9]\n", "arch_betas=1.5 must be a number in [0, 1)"),
        ("epochs: 2.5\n", "epochs=2.5 must be an integer"),
        ("epochs: true\n", "epochs=True must be an integer"),
        ("epochs: [1]\n", "epochs=[1] must be an integer"),
        ("seed: -5\n", "seed=-5 must be an integer in [0, 4294967295] or None"),
        ("seed: 100000000000000000000\n", "seed=100000000000000000000 must be an integer in"),
        ("device: 0\n", "device=0 must be text"),
        ("method: 3\n", "method=3 must be text"),
        ("method_options: [1, 2]\n", "method_options=[1, 2] must be a mapping of name: value"),
        ("method_options: {a: {b: {c: {d: {e: 1}}}}}\n", "nested deeper than 4 levels"),
        ("data: [digits]\n", "data=['digits'] must be text"),
        ("channels: eight\n", "channels='eight' must be an integer or None"),
        ("flip: maybe\n", "flip='maybe' must be True or False"),
        ("flip: 2\n", "flip=2 must be True or False"),
        ("progress: []\n", "progress=[] must be True or False or None"),
        ("amp: false\n", "amp=False must be text"),
        ("w_lr: .inf\n", "w_lr=inf must be a number in [0, 3.40282e+38]"),
        ("w_lr: .nan\n", "w_lr=nan must be a number in [0, 3.40282e+38]"),
        ("arch_lr: 1.0e+300\n", "arch_lr=1e+300 must be a number in [0, 3.40282e+38]"),
        ("steps_per_epoch: 0\n", "steps_per_epoch=0 must be an integer >= 1 or None"),
        ("cache_dir: 5\n", "cache_dir=5 must be a path (text) or None"),
        ("checkpoint_every: -2\n", "checkpoint_every=-2 must be an integer >= 0"),
        ("n_train: 32.5\n", "n_train=32.5 must be an integer or None"),
        ("order: 2.0\n", "order=2.0 must be an integer"),
        ("threads: lots\n", "threads='lots' must be an integer or None"),
        ("epochs: 1\nepochs: 2\n", "option 'epochs' is given twice (line 2, column 1)"),
        ("- 1\n- 2\n", "must hold a mapping of option: value"),
        ("foo: 1\n", "unknown option(s) ['foo']"),
    ],
)
def test_every_yaml_type_error_names_the_option(tmp_path, capsys, yaml_text, needle):
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text)
    _one_line(capsys, ["search", "--out", str(tmp_path / "r"), *TINY, "--config", str(config)],
              needle)


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--seed", "-1"], "seed=-1 must be an integer in [0, 4294967295] or None"),
        (["--seed", "1e23"], "seed='1e23' must be an integer or None"),
        (["--epochs", "2.5"], "epochs='2.5' must be an integer"),
        (["--w-lr", "inf"], "w_lr=inf must be a number in [0, 3.40282e+38]"),
        (["--arch-lr", "1e300"], "arch_lr=1e+300 must be a number in [0, 3.40282e+38]"),
        (["--grad-clip", "abc"], "grad_clip='abc' must be a number or None"),
        (["--device", "meta"], "device='meta' must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        (["-C", "x"], "channels='x' must be an integer or None"),
        (["--epochs", "0"], "epochs=0 must be an integer >= 1"),
        (["--grad-clip", "1e-400"], "grad_clip='1e-400' is too small for a float"),
        (["--w-lr", "-1e-3"], "w_lr=-0.001 must be a number in [0, 3.40282e+38]"),
        (["--arch-lr", "-inf"], "arch_lr=-inf must be a number"),
    ],
)
def test_flags_go_through_the_same_schema(tmp_path, capsys, flags, needle):
    _one_line(capsys, ["search", "--out", str(tmp_path / "r"), *TINY, *flags], needle)


def test_retrain_flags_and_yaml_too(tmp_path, capsys):
    base = ["retrain", "--arch", "DARTS_V2", "--out", str(tmp_path / "r"), *TINY]
    _one_line(capsys, [*base, "--lr", "nan"], "lr=nan must be a number in [0, 3.40282e+38]")
    _one_line(capsys, [*base, "--cutout", "1e3"], "cutout='1e3' must be an integer")
    config = tmp_path / "c.yaml"
    config.write_text('momentum: "high"\n')
    _one_line(capsys, [*base, "--config", str(config)], "momentum='high' must be a number")


def test_numbers_written_as_text_are_numbers(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text('arch_lr: 3e-4\nw_lr: "0.05"\ngrad_clip: 0\nflip: "yes"\nseed: "7"\n')
    resolved = opts.resolve("search", {"epochs": "3", "progress": True}, config)
    assert (resolved["arch_lr"], resolved["w_lr"], resolved["grad_clip"]) == (3e-4, 0.05, None)
    assert (resolved["flip"], resolved["seed"], resolved["epochs"]) == (True, 7, 3)
    assert opts.search_config(resolved).grad_clip is None  # 0: off


def test_coerce_directly():
    assert coerce("x", "none", int | None) is None
    assert coerce("x", "-3", int) == -3
    assert coerce("x", [0.5, "0.9"], tuple[float, float]) == (0.5, 0.9)
    assert coerce("x", "runs/a", PathText) == "runs/a"
    for value, tp in (("", PathText), ("a\0b", PathText), (1.5, int), ("1.0", int), (True, float)):
        with pytest.raises(ParameterError, match=r"^x=.* must be"):
            coerce("x", value, tp)


@pytest.mark.parametrize("command", ["search", "retrain"])
def test_every_option_of_a_command_has_a_type(command):
    # an option without a type would reach the command as the text of its flag ('2000')
    defaults = opts.SEARCH_OPTIONS if command == "search" else opts.RETRAIN_OPTIONS
    untyped = sorted(set(defaults) - set(opts.option_types(command)))
    assert untyped == []


def test_budget_flags_are_numbers(tmp_path):
    resolved = opts.resolve("search", {"budget_params": "2000", "latency_clock": "process"}, None)
    assert resolved["budget_params"] == 2000 and resolved["latency_clock"] == "process"
