"""README.md's Python blocks run as written (in order, in one namespace, as a reader would paste
them into one session), and the facts the README states about their results hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_readme_has_python_blocks():
    # a guard: a changed fence must not make the test below pass by running nothing
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 6


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Every block, run in a fresh folder (they write arch.json and cell diagrams)."""
    folder = tmp_path_factory.mktemp("readme")
    namespace: dict[str, object] = {"__name__": "__readme__"}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for i, block in enumerate(python_blocks(README.read_text(encoding="utf-8"))):
            try:
                exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
            except Exception as err:  # name the block, then fail with the original error
                raise AssertionError(f"README python block {i + 1} fails: {err!r}") from err
    return folder, namespace


def test_every_block_runs_and_writes_what_it_says(session):
    folder, ns = session
    import dnas

    arch = dnas.Architecture.load(folder / "arch.json")
    assert len(arch["act"]) == 1 and arch["act"][0] in ("relu", "tanh", "gelu")
    assert isinstance(ns["final"], torch.nn.Module) and not any(
        isinstance(m, dnas.LayerChoice) for m in ns["final"].modules()
    )
    assert set(ns["grads"]) == {"act"}
    assert (folder / "model.onnx").is_file() and ns["report"].max_abs_diff <= 1e-4
    assert (folder / "cell_normal.png").is_file() or (folder / "cell.png").is_file()


def test_the_regressor_recovers_the_law_the_readme_prints(session):
    _, ns = session
    assert str(ns["reg"].equation_) == "2*x1 + exp(5*x2)"


def test_drnas_by_config_gets_its_preset(session):
    _, ns = session
    assert ns["result"].config.arch_lr == 6e-4


def test_parameter_counts_the_readme_states():
    from dnas import arch_parameters, weight_parameters
    from dnas.spaces import darts

    net = darts.search_network(C=16, layers=8, num_classes=10, dim=2)
    assert sum(p.numel() for p in weight_parameters(net)) == 1_930_618
    assert sum(p.numel() for p in arch_parameters(net)) == 224
    eval_net = darts.eval_network(darts.genotype("DARTS_V2"), C=36, layers=20, auxiliary=True)
    total = sum(p.numel() for p in eval_net.parameters())
    no_aux = sum(p.numel() for n, p in eval_net.named_parameters() if "auxiliary" not in n)
    assert (no_aux, total) == (3_349_342, 3_825_768)
