"""Tabular benchmarks: search quality measured by look-up (NAS-Bench-201 style).

>>> import dnas
>>> table = dnas.bench.load("nb201-mnist1d")
>>> entry = table.query("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|"
...                     "+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|")
>>> entry.test_acc, entry.percentile, entry.regret                      # doctest: +SKIP

:class:`Recipe` and :func:`train_row` make one row (``benchmarks/tabular_build.py`` makes them all);
:func:`budget_config` gives a method its paper preset under a budget counted in α steps.
"""

from dnas.bench.budget import PAPER_STEPS, budget_config
from dnas.bench.recipe import Recipe, forward_flops, train_row
from dnas.bench.shipped import load, names
from dnas.bench.table import Entry, Table

__all__ = ["PAPER_STEPS", "Entry", "Recipe", "Table", "budget_config", "forward_flops", "load",
           "names", "train_row"]
