"""GDAS: one sampled candidate runs, straight-through gradient, temperature schedule."""

import pytest
import torch

import dnas
from tests.helpers import activations, shared_labels


def test_gdas_runs_only_the_sampled_candidate():
    choice = dnas.LayerChoice(activations(), label="e")
    dnas.relax(choice, "gdas")
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(30):
        for op in choice.candidates.values():
            op.calls = 0
        dnas.resample(choice, g)
        out = choice(torch.rand(5) + 0.5)  # every candidate non-zero there
        calls = [op.calls for op in choice.candidates.values()]
        assert sum(calls) == 1
        k = calls.index(1)
        seen.add(k)
        expected = list(choice.candidates.values())[k].fn
        out.sum().backward()  # straight-through: α gets a gradient through the soft sample
        assert choice.arch.alpha.grad is not None and choice.arch.alpha.grad.abs().sum() > 0
        choice.arch.alpha.grad = None
        assert expected is not None
    assert len(seen) > 1  # it really samples

def test_gdas_temperature_schedule():
    r = dnas.relax(shared_labels("darts"), "gdas", tau_max=10.0, tau_min=0.1)
    r.set_progress(0.0)
    assert r.tau == 10.0
    r.set_progress(0.5)
    assert r.tau == pytest.approx(5.05)
    r.set_progress(1.0)
    assert r.tau == pytest.approx(0.1)

def test_gdas_needs_a_sample():
    choice = dnas.LayerChoice(activations(), label="e")
    dnas.relax(choice, "gdas")
    with pytest.raises(RuntimeError, match="resample"):
        choice(torch.randn(3))
