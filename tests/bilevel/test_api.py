"""One way into a search: either ``config=`` or keyword options, never a silent mix."""

import pytest
import torch

import dnas
from dnas.bilevel import PRESETS, SearchConfig, Searcher
from tests.helpers import BiasedChoice, teacher_task


def data(n=32):
    return teacher_task("sin", n=n)


def _untouched(net, before):
    return all(torch.equal(before[k], v) for k, v in net.state_dict().items())


@pytest.mark.parametrize(
    "config,options,named",
    [
        # an explicit method equal to the old default used to be dropped: GDAS ran
        (SearchConfig.for_method("gdas"), {"method": "darts"}, "method='darts'"),
        # used to be merged into the GDAS config and fail on GDAS' tau_max
        (SearchConfig.for_method("gdas"), {"method": "drnas"}, "method='drnas'"),
        # used to skip DrNAS' preset (α lr 3e-4 instead of 6e-4)
        (SearchConfig(), {"method": "drnas"}, "method='drnas'"),
        (SearchConfig(), {"order": 1}, "order=1"),
        (SearchConfig(), {"epochs": 1, "seed": 3}, "epochs=1, seed=3"),
    ],
)
def test_config_and_options_together_is_a_type_error(config, options, named):
    net = BiasedChoice()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(TypeError, match=rf"search\(\) takes either config= or keyword options.*"
                       rf"{named}"):
        dnas.search(net, *data(), config=config, **options)
    with pytest.raises(TypeError, match=rf"Searcher\(\) takes either.*{named}"):
        Searcher(net, *data(), config, **options)
    assert _untouched(net, before)


@pytest.mark.parametrize("method", sorted(PRESETS))
def test_options_alone_apply_the_method_preset(method):
    r = Searcher(BiasedChoice(), *data(), method=method, epochs=1, seed=4)
    expected = SearchConfig.for_method(method, epochs=1, seed=4)
    assert r.config == expected
    for key, value in PRESETS[method].items():
        if key == "method_options":
            assert {k: r.config.method_options[k] for k in value} == value
        else:
            assert getattr(r.config, key) == (tuple(value) if isinstance(value, tuple) else value)


def test_drnas_by_keyword_gets_its_arch_lr():
    r = dnas.search(BiasedChoice(), *data(), method="drnas", epochs=1)
    assert r.config.arch_lr == 6e-4 and r.config.method_options["reg_weight"] == 1e-3


def test_config_alone_is_used_as_given():
    config = SearchConfig(method="drnas", epochs=1, arch_lr=1e-2, seed=5)
    r = dnas.search(BiasedChoice(), *data(), config=config)
    assert r.config is config  # no preset is layered over a complete config
    s = Searcher(BiasedChoice(), *data(), config)
    assert s.config is config


def test_searcher_takes_options_like_search():
    s = Searcher(BiasedChoice(), *data(), method="gdas", epochs=2, seed=1)
    assert s.config == SearchConfig.for_method("gdas", epochs=2, seed=1)
    assert Searcher(BiasedChoice(), *data()).config == SearchConfig()


def test_config_must_be_a_search_config():
    with pytest.raises(TypeError, match="config must be a SearchConfig, got dict"):
        dnas.search(BiasedChoice(), *data(), config={"method": "darts"})
