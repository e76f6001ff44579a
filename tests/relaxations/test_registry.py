"""The registry: a method's name stated once, presets of one class, clear errors for bad input."""

import pytest
import torch

import dnas
from dnas.relaxations import registry
from dnas.relaxations.base import Relaxation
from dnas.relaxations.binary import BinaryGates
from tests.helpers import BiasedChoice


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown method='dartz'.*darts.*gdas"):
        dnas.relax(BiasedChoice(), "dartz")
    with pytest.raises(ValueError, match="unknown method=3"):
        registry.create(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", dnas.methods())
def test_every_method_reports_its_own_name(method):
    r = registry.create(method)
    assert r.name == method
    entry = registry.preset(method)
    assert isinstance(r, entry.cls)
    if not entry.named:  # a class that is one method carries the name the decorator gave it
        assert entry.cls.name == method


def test_binary_gate_methods_are_presets_of_one_class():
    made = {m: registry.create(m) for m in ("binary", "binary-masked", "proxyless")}
    assert {type(r) for r in made.values()} == {BinaryGates}
    assert (made["binary"].num_eval, made["binary-masked"].num_eval) == (None, 2)
    assert made["proxyless"].sampler == "multinomial" and made["binary"].sampler == "gumbel-top"
    assert registry.create("binary-masked", num_eval=3).num_eval == 3  # a default, not fixed
    assert registry.preset("binary").options() == ["num_on"]
    assert registry.preset("proxyless").options() == ["num_eval", "rescale"]


@pytest.mark.parametrize(("method", "options", "match"), [
    ("binary", {"num_on": 0}, "num_on=0"),
    ("binary", {"num_eval": 2}, r"\['num_eval'\] not accepted; its options are \['num_on'\]"),
    ("binary-masked", {"num_on": 2, "num_eval": 1}, "num_eval=1 must be an integer >= num_on=2"),
    ("proxyless", {"num_eval": 0}, "num_eval=0"),
    ("proxyless", {"num_on": 2}, r"\['num_on'\] not accepted"),
    ("proxyless", {"sampler": "gumbel-top"}, r"\['sampler'\] not accepted"),
    ("moving-average", {"rate": 0.0}, "rate=0.0"),
    ("pc-darts", {"partial_channels": 0}, "partial_channels=0"),
    ("gdas", {"tau": 3}, r"bad options for method='gdas': \['tau'\] not accepted; its options are "
                         r"\['tau_max', 'tau_min'\]"),
    ("darts", {"temperature": 1}, r"\['temperature'\] not accepted; its options are none"),
])
def test_bad_options_are_clear_value_errors(method, options, match):
    with pytest.raises(ValueError, match=match):
        dnas.relax(BiasedChoice(), method, **options)


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test stay in the test."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_registering_states_the_name_once(scratch_registry):
    @registry.register("doubled-softmax")
    class Doubled(Relaxation):
        """Softmax weights times two."""

        fused_weighted_sum = True

        def weights(self, alpha, arch):
            return 2 * torch.softmax(alpha, -1)

    assert Doubled.name == "doubled-softmax" and "doubled-softmax" in dnas.methods()
    net = BiasedChoice()
    r = dnas.relax(net, "doubled-softmax")
    assert isinstance(r, Doubled) and dnas.derive(net).meta["methods"] == {"act": "doubled-softmax"}
    with pytest.raises(ValueError, match="'doubled-softmax' is registered twice"):
        registry.register("doubled-softmax")(Doubled)


def test_presets_pass_their_name_and_fix_values(scratch_registry):
    registry.register("two-of-three", defaults={"num_on": 2}, fixed={"num_eval": 3})(BinaryGates)
    r = registry.create("two-of-three")
    assert (r.name, r.num_on, r.num_eval) == ("two-of-three", 2, 3)
    with pytest.raises(ValueError, match=r"\['num_eval'\] not accepted"):
        registry.create("two-of-three", num_eval=4)
