"""Registry-driven checks: every registered relaxation shares labels, exports, fixes, and tells the
truth about its capability flags. A relaxation added to the registry is tested here unasked."""

import pytest
import torch
from torch import nn

import dnas
from dnas.relaxations.base import Relaxation
from dnas.space.binding import bind
from tests.helpers import shared_labels

METHODS = dnas.methods()


def _x(seed=0, n=8):
    return torch.randn(n, 4, 6, generator=torch.Generator().manual_seed(seed))


def test_the_registry_lists_the_published_methods():
    assert {"darts", "fair-darts", "drnas", "gdas", "proxyless", "binary", "binary-masked",
            "moving-average", "pc-darts"} <= set(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_shared_labels_share_alpha_and_samples(method):
    net = shared_labels(method)
    assert net.a.arch is net.b.arch and net.a.arch.alpha is net.b.arch.alpha
    assert net.a.arch is not net.c.arch
    assert len(list(dnas.arch_parameters(net))) == 3  # "op" (shared), "other", "in"
    names = [n for n, _ in net.named_parameters()]
    assert sum(n.endswith("arch.alpha") for n in names) == 3  # the shared α is listed once
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        dnas.resample(net, g)
        assert net.a.arch.sample is net.b.arch.sample
        torch.testing.assert_close(net.a.arch.weights(), net.b.arch.weights(), rtol=0, atol=0)
    # one optimiser step on the shared α moves both choices
    before = net.a.arch.alpha.detach().clone()
    dnas.resample(net, g)
    net(_x()).square().sum().backward()
    assert net.a.arch.alpha.grad is not None and net.a.arch.alpha.grad.abs().sum() > 0
    torch.optim.SGD(dnas.arch_parameters(net), lr=1.0).step()
    assert not torch.equal(before, net.b.arch.alpha.detach())


@pytest.mark.parametrize("method", METHODS)
def test_export_round_trips_and_fixes_into_a_plain_model(method, tmp_path):
    net = shared_labels(method)
    with torch.no_grad():
        for a in dnas.arch_parameters(net):
            a.copy_(torch.arange(len(a), dtype=a.dtype).flip(0))  # candidate 0 strongest
    arch = dnas.derive(net)
    r = net.a.arch.relaxation
    assert arch.meta["methods"] == {"op": method, "other": method, "in": method}
    assert arch["op"] == ("conv",) == arch["other"] and arch["in"] == ("0",)
    path = tmp_path / "arch.json"
    arch.save(path)
    assert dnas.Architecture.load(path) == arch
    assert r.select(net.a.arch.alpha.detach(), net.a.arch) == [0]
    if method == "pc-darts":  # candidates see C/K channels: the space retrains with its own rule
        return
    fixed = dnas.fix(net, arch)
    assert not any(isinstance(m, (dnas.LayerChoice, dnas.InputChoice)) for m in fixed.modules())
    x = _x()
    fixed.eval()
    expected = net.head(net.c.candidates["conv"](net.a.candidates["conv"](x)).flatten(1))
    torch.testing.assert_close(fixed(x), expected.squeeze(-1))


def _counted(net):
    counts = {}

    def hook(module, args, out):
        counts[id(module)] = counts.get(id(module), 0) + 1

    for choice in (net.a, net.b, net.c):
        for op in choice.candidates.values():
            op.register_forward_hook(hook)
    return counts


@pytest.mark.parametrize("method", METHODS)
def test_capability_flags_say_what_the_relaxation_does(method):
    net = shared_labels(method)
    r = net.a.arch.relaxation
    groups = bind(net)

    # stochastic: resample draws (reproducibly from the generator); otherwise there is no sample
    def draw(seed):
        g = torch.Generator().manual_seed(seed)
        return str([r.resample(a.alpha.detach(), a, g) for a in groups.values()])

    assert (r.resample(net.a.arch.alpha.detach(), net.a.arch, None) is not None) == r.stochastic
    assert draw(0) == draw(0)
    assert (len({draw(seed) for seed in range(6)}) > 1) == r.stochastic

    # fused_weighted_sum: the forward is Σ_j weights_j · op_j(x) over every candidate
    dnas.resample(net, torch.Generator().manual_seed(1))
    x = _x()
    if r.fused_weighted_sum:
        assert type(r).mix is Relaxation.mix  # a class that overrides mix must not claim it
        w = net.a.arch.weights()
        expected = sum(wj * op(x) for wj, op in zip(w, net.a.candidates.values()))
        torch.testing.assert_close(net.a(x), expected, rtol=1e-6, atol=1e-6)

    # samples_paths: with α frozen (a weight step) only the sampled candidates run
    for a in dnas.arch_parameters(net):
        a.requires_grad_(False)
    counts = _counted(net)
    net(x)
    ran = sum(1 for op in net.a.candidates.values() if counts.get(id(op)))
    if r.samples_paths:
        assert ran == r.n_kept(net.a.arch) < len(net.a.names)
    else:
        assert ran == len(net.a.names)
    for a in dnas.arch_parameters(net):
        a.requires_grad_(True)

    # twice_differentiable: α's gradient has a gradient itself
    if r.twice_differentiable:
        (g,) = torch.autograd.grad(net(x).square().sum(), net.a.arch.alpha, create_graph=True)
        (gg,) = torch.autograd.grad(g.square().sum(), net.a.arch.alpha)
        assert torch.isfinite(gg).all()

    # rescales_after_step: otherwise after_arch_step leaves α alone
    arch = net.a.arch
    before = arch.alpha.detach().clone()
    with torch.no_grad():
        arch.alpha.add_(torch.linspace(-0.3, 0.5, len(before)))
    moved = arch.alpha.detach().clone()
    r.after_arch_step(arch, before)
    if not r.rescales_after_step:
        assert torch.equal(arch.alpha.detach(), moved)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "pc-darts"])
def test_per_label_mixes_any_relaxation_with_darts(method):
    # (pc-darts' candidates are built for a share of the channels, so it cannot share a model
    # with a relaxation that feeds them every channel)
    net = shared_labels("darts")
    dnas.relax(net, "darts", per_label={"other": method})
    assert net.c.arch.relaxation.name == method and net.a.arch.relaxation.name == "darts"
    dnas.resample(net, torch.Generator().manual_seed(0))
    net(_x()).square().sum().backward()
    assert all(a.grad is not None for a in dnas.arch_parameters(net))


def test_a_relaxation_that_overrides_mix_is_not_fused_by_default():
    class Doubled(Relaxation):
        def mix(self, choice, args, kwargs):
            return 2 * super().mix(choice, args, kwargs)

    assert not Doubled().fused_weighted_sum
    choice = dnas.LayerChoice({"id": nn.Identity(), "neg": nn.Identity()}, label="e")
    dnas.relax(choice, Doubled())
    torch.testing.assert_close(choice(torch.ones(3)), 2 * torch.ones(3))


def _regression(seed, n=32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, 6, generator=g)
    return x, x.sum((1, 2)).sin()


@pytest.mark.parametrize("method", METHODS)
def test_a_checkpoint_resumes_the_relaxation_bit_for_bit(method, tmp_path):
    """The relaxation's options, per-choice state (running means), samples and rescaling survive a
    checkpoint: a search stopped mid-epoch and resumed ends exactly where the uninterrupted one
    does (BatchNorm candidates and shared labels included)."""
    from dnas.bilevel import SearchConfig, Searcher
    from dnas.runtime.checkpoint import load_checkpoint, save_checkpoint
    from tests.helpers import TEST_OPTIONS, StopAt

    config = SearchConfig.for_method(method, epochs=2, batch_size=8, device="cpu", seed=0,
                                     warmup_epochs=0,
                                     method_options=TEST_OPTIONS.get(method, {}))

    def searcher(callbacks=(), init_seed=0):
        return Searcher(shared_labels(method, seed=init_seed), _regression(0), _regression(1),
                        config, callbacks=callbacks)

    full = searcher()
    full.run()
    first = searcher([StopAt(1, 1)])
    first.run()
    save_checkpoint(first.state_dict(), tmp_path / "last.pt")
    resumed = searcher(init_seed=5)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    assert vars(resumed.model.a.arch.relaxation) == vars(full.model.a.arch.relaxation)
    resumed.run()
    want = full.model.state_dict()
    for name, t in resumed.model.state_dict().items():
        assert torch.equal(t, want[name]), name
