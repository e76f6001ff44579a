"""binary, binary-masked, proxyless (two-path, rescaling) and moving-average: gradients against
their closed forms, which candidates run, rescaling under Adam, running averages, export."""

import pytest
import torch
from torch import nn

import dnas
from dnas.bilevel.config import SearchConfig
from dnas.bilevel.feed import next_batches
from dnas.bilevel.loop import Searcher
from dnas.relaxations.gates import GateSample
from dnas.relaxations.moving_average import RunningMeans
from tests.helpers import BiasedChoice, Fn, teacher_task


class Counted(nn.Module):
    """A linear map counting its forward calls."""

    def __init__(self, d_in=3, d_out=2):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.lin(x)


def linear_choice(method, n=5, **options):
    torch.manual_seed(0)
    ops = {f"lin{j}": Counted() for j in range(n)}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, method, **options)
    choice.double()
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.linspace(-0.5, 0.7, n, dtype=torch.float64).flip(0) ** 2)
    return choice, list(ops.values())


@pytest.mark.parametrize("num_on", [1, 2])
def test_binary_gate_gradient_is_the_softmax_jacobian_formula(num_on):
    choice, ops = linear_choice("binary", num_on=num_on)
    x = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        dnas.resample(choice, g)
        on = choice.arch.sample.on
        assert len(set(on)) == num_on
        for op in ops:
            op.zero_grad()
        choice.arch.alpha.grad = None
        out = choice(x)
        with torch.no_grad():
            torch.testing.assert_close(out, sum(ops[j](x) for j in on))  # unweighted sum
        (out * c).sum().backward()
        with torch.no_grad():  # ∂L/∂g_j = <c, o_j>;  ∂L/∂α_k = p_k (∂L/∂g_k - Σ_j p_j ∂L/∂g_j)
            dg = torch.stack([(c * op(x)).sum() for op in ops])
            p = torch.softmax(choice.arch.alpha, 0)
            expected = p * (dg - (p * dg).sum())
        torch.testing.assert_close(choice.arch.alpha.grad, expected, rtol=1e-12, atol=1e-12)
        for j, op in enumerate(ops):
            assert (op.lin.weight.grad is not None) == (j in on)


def test_binary_masked_gradient_is_softmax_restricted_to_the_evaluated_set():
    n, num_on, num_eval = 6, 1, 3
    choice, ops = linear_choice("binary-masked", n=n, num_on=num_on, num_eval=num_eval)
    x = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    for _ in range(3):
        dnas.resample(choice, g)
        E = list(choice.arch.sample.indices)
        assert len(set(E)) == num_eval
        for op in ops:
            op.calls = 0
        choice.arch.alpha.grad = None
        out = choice(x)
        (out * c).sum().backward()
        # compute scales with num_eval: each evaluated candidate ran once, the others never
        assert [op.calls for op in ops] == [int(j in E) for j in range(n)]
        with torch.no_grad():
            dg = torch.stack([(c * ops[j](x)).sum() for j in E])
            q = torch.softmax(choice.arch.alpha[E], 0)
            expected = torch.zeros(n, dtype=torch.float64)
            expected[E] = q * (dg - (q * dg).sum())
        torch.testing.assert_close(choice.arch.alpha.grad, expected, rtol=1e-12, atol=1e-12)


def test_weight_step_runs_only_the_active_paths():
    choice, ops = linear_choice("binary-masked", n=5, num_on=2, num_eval=4)
    dnas.resample(choice, torch.Generator().manual_seed(0))
    choice.arch.alpha.requires_grad_(False)
    choice(torch.randn(2, 3, dtype=torch.float64)).sum().backward()
    assert sum(op.calls for op in ops) == 2


@pytest.mark.parametrize("method", ["binary", "binary-masked"])
def test_unselected_batchnorm_statistics_are_untouched(method):
    ops = {"id": nn.Identity(), "bn": nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, method, **({"num_eval": 2} if method == "binary-masked" else {}))
    choice.arch.sample = 0
    before = ops["bn"][1].running_mean.clone()
    choice(torch.randn(6, 3)).sum().backward()
    assert torch.equal(ops["bn"][1].running_mean, before)
    assert choice.arch.alpha.grad.abs().sum() > 0


def _involved_mass(alpha, indices):
    return torch.softmax(alpha.double(), 0)[list(indices)].sum()


@pytest.mark.parametrize(("method", "options"), [
    ("binary-masked", {"num_on": 1, "num_eval": 2}),
    ("binary-masked", {"num_on": 2, "num_eval": 3}),
    ("proxyless", {"num_eval": 2}),
])
def test_rescaling_keeps_the_involved_paths_mass_under_adam(method, options):
    train, valid = teacher_task("sin", n=128, seed=0)
    torch.manual_seed(0)
    net = BiasedChoice()
    # weight decay and β1 > 0 move the uninvolved logits too: the rescaling must still hold
    cfg = SearchConfig.for_method(method, method_options=options, arch_lr=0.3,
                                  arch_weight_decay=0.1, arch_betas=(0.9, 0.999), batch_size=16,
                                  epochs=1, device="cpu")
    s = Searcher(net, train, valid, cfg)
    arch = net.choice.arch
    others_moved = False
    for _ in range(12):
        before = arch.alpha.detach().clone()
        tb, vb = next_batches(s.train, s.valid, s.device, None, s.aug_generator)
        s.arch_step(tb, vb)
        E = arch.sample.indices
        torch.testing.assert_close(_involved_mass(arch.alpha, E), _involved_mass(before, E),
                                   rtol=0, atol=1e-6)
        rest = [j for j in range(len(before)) if j not in E]
        others_moved |= not torch.equal(arch.alpha.detach()[rest], before[rest])
        assert not torch.allclose(arch.alpha.detach()[list(E)], before[list(E)])
        s.weight_step(tb)
    assert others_moved  # Adam's moments and decay did move the other logits


def test_proxyless_default_evaluates_every_candidate_and_keeps_the_rescale_a_no_op():
    choice, _ops = linear_choice("proxyless", n=4)
    dnas.resample(choice, torch.Generator().manual_seed(0))
    assert sorted(choice.arch.sample.indices) == [0, 1, 2, 3]
    a = choice.arch.alpha
    before = a.detach().clone()
    with torch.no_grad():
        a.add_(torch.tensor([0.1, -0.2, 0.3, 0.0], dtype=a.dtype))
    moved = a.detach().clone()
    choice.arch.relaxation.after_arch_step(choice.arch, before)
    assert torch.equal(a.detach(), moved)


def test_moving_average_matches_a_hand_computed_sequence():
    rate = 0.25
    ops = {f"s{j}": Fn(lambda x, k=j: (k + 1.0) * x) for j in range(3)}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, "moving-average", rate=rate)
    state = choice.moving_average
    assert isinstance(state, RunningMeans) and state.mean.shape == (3, 0)
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(5, 2, generator=g) for _ in range(5)]
    picks = [0, 1, 0, 0, 2]
    m = [None, None, None]  # by hand
    with torch.no_grad():
        for x, j in zip(xs, picks):
            choice.arch.sample = j
            choice(x)
            new = ((j + 1.0) * x).mean(0)
            m[j] = new if m[j] is None else (1 - rate) * m[j] + rate * new
    for j in range(3):
        torch.testing.assert_close(state.mean[j], m[j])
    assert state.count.tolist() == [3, 1, 1]
    # the gate gradient: exact for the active candidate, <Σ_batch ∂L/∂ō, m_j> for the others
    x, c = torch.randn(4, 2), torch.randn(4, 2)
    choice.arch.sample = 1
    choice.eval()  # no update during this forward, so m is the one computed by hand
    (choice(x) * c).sum().backward()
    with torch.no_grad():
        dg = torch.stack([(c.sum(0) * m[0]).sum(), (c * 2.0 * x).sum(), (c.sum(0) * m[2]).sum()])
        p = torch.softmax(choice.arch.alpha, 0)
        expected = p * (dg - (p * dg).sum())
    torch.testing.assert_close(choice.arch.alpha.grad, expected)


def test_moving_average_state_is_checkpointed():
    net = BiasedChoice()
    dnas.relax(net, "moving-average", rate=0.5)
    g = torch.Generator().manual_seed(0)
    for _ in range(4):
        dnas.resample(net, g)
        net(torch.randn(8, 4))
    saved = net.state_dict()
    assert "choice.moving_average.mean" in saved and saved["choice.moving_average.mean"].numel()
    fresh = BiasedChoice()
    dnas.relax(fresh, "moving-average", rate=0.5)  # never run: averages not shaped yet
    fresh.load_state_dict(saved)  # strict
    torch.testing.assert_close(fresh.choice.moving_average.mean, net.choice.moving_average.mean)
    assert torch.equal(fresh.choice.moving_average.count, net.choice.moving_average.count)


def test_num_on_carries_into_the_exported_architecture_and_fix():
    torch.manual_seed(0)
    choice, ops = linear_choice("binary", n=5, num_on=2)
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.tensor([0.1, 2.0, -1.0, 1.5, 0.0]))
    arch = dnas.derive(choice)
    assert arch["e"] == ("lin1", "lin3")
    fixed = dnas.fix(choice, arch)
    x = torch.randn(3, 3, dtype=torch.float64)
    torch.testing.assert_close(fixed(x), ops[1](x) + ops[3](x))


@pytest.mark.parametrize(("method", "options"), [
    ("binary", {"num_on": 0}),
    ("binary-masked", {"num_on": 2, "num_eval": 1}),
    ("moving-average", {"rate": 0.0}),
    ("proxyless", {"num_eval": 0}),
    ("pc-darts", {"partial_channels": 0}),
])
def test_bad_options_are_clear_value_errors(method, options):
    with pytest.raises(ValueError, match=next(iter(options))):
        dnas.relax(BiasedChoice(), method, **options)


def test_too_many_active_paths_for_the_label_is_a_clear_error():
    net = BiasedChoice()
    dnas.relax(net, "binary", num_on=5)
    with pytest.raises(ValueError, match="num_on=5 exceeds the 4 candidates"):
        dnas.resample(net)


def test_per_label_mixes_memory_methods_with_darts():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = BiasedChoice("a"), BiasedChoice("b")

        def forward(self, x):
            return self.a(x) + self.b(x)

    net = Two()
    dnas.relax(net, "darts", per_label={"b": "binary-masked"})
    assert net.b.choice.arch.relaxation.name == "binary-masked"
    dnas.resample(net)
    assert isinstance(net.b.choice.arch.sample, GateSample) and net.a.choice.arch.sample is None
    net(torch.randn(3, 4)).sum().backward()
    assert net.a.choice.arch.alpha.grad is not None and net.b.choice.arch.alpha.grad is not None


@pytest.mark.parametrize("method", ["binary", "binary-masked", "moving-average"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_selects_the_generating_candidate(method, seed):
    train, valid = teacher_task("sin", seed=seed)
    torch.manual_seed(seed)
    net = BiasedChoice()
    result = dnas.search(net, train, valid, method=method, epochs=30, batch_size=64, seed=seed,
                         arch_lr=0.3, w_lr=0.05)
    assert result.architecture["act"] == ("sin",)


@pytest.mark.parametrize("method", ["binary", "proxyless"])
def test_gate_gradient_recomputes_with_the_weights_the_forward_used(method):
    # the hypergradient evaluates the model at shifted weights through functional_call; the
    # backward pass (run after functional_call has restored the module) must use those weights
    choice, _ops = linear_choice(method, n=4)
    choice.arch.sample = 2
    x = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)
    shifted = {f"candidates.lin{j}.lin.weight": torch.randn(2, 3, dtype=torch.float64)
               for j in range(4)}
    out = torch.func.functional_call(choice, shifted, (x,))
    (out * c).sum().backward()
    with torch.no_grad():
        dg = torch.stack([(c * (x @ shifted[f"candidates.lin{j}.lin.weight"].T)).sum()
                          for j in range(4)])
        p = torch.softmax(choice.arch.alpha, 0)
        expected = p * (dg - (p * dg).sum())
    torch.testing.assert_close(choice.arch.alpha.grad, expected)


def test_moving_average_with_scalar_outputs_per_sample():
    """Candidates whose output is one number per sample (shape (B,)) are estimated too."""

    class Scalar(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.b = torch.nn.Parameter(torch.zeros(()))
            self.c = dnas.LayerChoice({"id": torch.nn.Identity(), "tanh": torch.nn.Tanh()},
                                      label="c")

        def forward(self, x):
            return self.c(x[:, 0]) + self.b

    train, valid = teacher_task("sin")
    result = dnas.search(Scalar(), train, valid, method="moving-average", epochs=2, batch_size=16)
    assert result.architecture["c"][0] in {"id", "tanh"}
