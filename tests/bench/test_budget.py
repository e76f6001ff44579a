"""The budget rule: α learning rates scaled by paper steps / steps, warm-up scaled by epochs."""

from __future__ import annotations

import pytest

from dnas.bench import PAPER_STEPS, budget_config
from dnas.bilevel import SearchConfig


def test_arch_lr_scales_with_the_paper_steps():
    c = budget_config("darts", steps=600, steps_per_epoch=62)
    assert c.epochs == 10 and c.steps_per_epoch == 62  # 600 / 62 rounds to 10 whole epochs
    assert c.arch_lr == pytest.approx(3e-4 * 19550 / 620)
    assert PAPER_STEPS == 19550
    drnas = budget_config("drnas", steps=620, steps_per_epoch=62, order=2)
    assert drnas.arch_lr == pytest.approx(6e-4 * 19550 / 620) and drnas.order == 2


def test_warmup_scales_with_epochs_and_overrides_win():
    pc = SearchConfig.for_method("pc-darts")
    c = budget_config("pc-darts", steps=1000, steps_per_epoch=50)  # 20 epochs
    assert c.warmup_epochs == round(pc.warmup_epochs / 50 * 20)
    c = budget_config("darts", steps=100, steps_per_epoch=10, arch_lr=1e-3, robust="beta-darts")
    assert c.arch_lr == 1e-3 and c.robust == "beta-darts"
    assert budget_config("darts", steps=3, steps_per_epoch=10).epochs == 1


@pytest.mark.parametrize("bad", [{"steps": 0}, {"steps_per_epoch": -1}, {"steps": 2.5},
                                 {"epochs": 3}])
def test_bad_budgets_are_named(bad):
    args = {"steps": 100, "steps_per_epoch": 10, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        budget_config("darts", **args)
