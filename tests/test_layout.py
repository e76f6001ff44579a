"""The package layout: every module importable by its dotted path, and ``dnas.<x>`` meaning one
thing (no public function hides the module it lives beside)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import dnas


def _all_module_names() -> list[str]:
    names = ["dnas"]
    for info in pkgutil.walk_packages(dnas.__path__, prefix="dnas."):
        names.append(info.name)
    return sorted(names)


MODULES = _all_module_names()


def test_walk_finds_the_packages():
    # a guard against the walk silently finding nothing (the tests below would then pass vacuously)
    for expected in ("dnas.bilevel.loop", "dnas.relaxations.gdas", "dnas.optim", "dnas.cli.main"):
        assert expected in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_importable_by_dotted_path(name):
    module = importlib.import_module(name)
    assert isinstance(module, types.ModuleType)
    assert module.__name__ == name


@pytest.mark.parametrize("name", [m for m in MODULES if "." in m])
def test_no_attribute_hides_a_submodule(name):
    module = importlib.import_module(name)
    parent_name, _, child = name.rpartition(".")
    parent = importlib.import_module(parent_name)
    assert getattr(parent, child) is module, (
        f"{parent_name}.{child} is {getattr(parent, child)!r}, not the module {name}"
    )


@pytest.mark.parametrize(
    "name", ["search", "relax", "derive", "fix", "architecture_gradient", "summary", "resample"]
)
def test_documented_functions_are_callables(name):
    obj = getattr(dnas, name)
    assert callable(obj) and not isinstance(obj, types.ModuleType)


def test_documented_classes():
    for name in ("LayerChoice", "InputChoice", "Architecture", "SearchConfig", "Searcher"):
        assert isinstance(getattr(dnas, name), type)
    assert dnas.PRESETS["drnas"]["arch_lr"] == 6e-4
    assert dnas.Searcher is dnas.bilevel.Searcher
