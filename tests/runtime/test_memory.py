"""A model whose weights alone cannot fit is refused before allocation, with the estimate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnas.cli.main import main
from dnas.runtime import memory


def test_the_count_comes_from_a_meta_build():
    assert memory.meta_parameter_count(lambda: nn.Linear(1000, 1000)) == 1_001_000
    assert memory.available_bytes(torch.device("cpu")) > 0


def test_check_fits_refuses_with_the_estimate(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 10 * 2**30)
    with pytest.raises(ValueError, match=r"^the net has 100,001,000,000 parameters: training it "
                       r"needs at least 1\.1 TiB \(3 values of 4 bytes per parameter, before "
                       r"activations\), and the cpu device has 10\.0 GiB available; shrink it$"):
        memory.check_fits(lambda: nn.Linear(100_000, 1_000_000), torch.device("cpu"), copies=3,
                          what="the net", advice="shrink it")
    assert memory.check_fits(lambda: nn.Linear(10, 10), torch.device("cpu"), copies=3,
                             what="the net", advice="-") == 110


@pytest.mark.parametrize("command", ["search", "retrain"])
def test_the_command_line_refuses_huge_networks_before_building_them(tmp_path, capsys, command):
    argv = [command, "--data", "digits", "-C", "100000", "--layers", "3", "--device", "cpu",
            "--out", str(tmp_path / "run"), "--no-progress"]
    if command == "retrain":
        argv += ["--arch", "DARTS_V2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "(channels=100000, layers=3) has " in err, err
    assert "use fewer channels (-C) or layers (--layers)" in err
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_a_model_that_cannot_be_built_on_meta_is_not_checked():
    class ReadsValues(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.scale = float(self.lin.weight.abs().max().item())  # a value: no meta tensor has it

    assert memory.meta_parameter_count(ReadsValues) is None
    checked = memory.check_fits(ReadsValues, torch.device("cpu"), copies=3, what="m", advice="")
    assert checked is None
    assert ReadsValues().scale > 0  # and it builds for real
