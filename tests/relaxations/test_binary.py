"""The binary-gate relaxation and its presets (binary, binary-masked, proxyless): gradients against
their closed forms, which candidates run, rescaling under Adam, export."""

import pytest
import torch
from torch import nn

import dnas
from dnas.bilevel.config import SearchConfig
from dnas.bilevel.feed import next_batches
from dnas.bilevel.loop import Searcher
from dnas.relaxations.gates import SAMPLERS, GateSample
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

def test_proxyless_gate_gradient_matches_the_softmax_jacobian_formula():
    torch.manual_seed(0)
    ops = {f"lin{j}": nn.Linear(3, 2, bias=False).double() for j in range(4)}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, "proxyless")
    with torch.no_grad():
        choice.arch.alpha.copy_(torch.tensor([0.3, -0.2, 0.5, 0.1]))
    choice.double()
    x = torch.randn(5, 3, dtype=torch.float64)
    c = torch.randn(5, 2, dtype=torch.float64)
    for i in range(4):
        choice.arch.sample = i
        for op in ops.values():
            op.zero_grad()
        choice.arch.alpha.grad = None
        out = choice(x)
        assert torch.equal(out, list(ops.values())[i](x))
        (out * c).sum().backward()
        # closed form: ∂L/∂g_j = <c, o_j>, ∂L/∂α_k = Σ_j ∂L/∂g_j p_j (δ_jk - p_k)
        with torch.no_grad():
            dg = torch.stack([(c * op(x)).sum() for op in ops.values()])
            p = torch.softmax(choice.arch.alpha, 0)
            expected = p * dg - p * (p * dg).sum()
        torch.testing.assert_close(choice.arch.alpha.grad, expected)
        # only the sampled path's weights get a gradient
        for j, op in enumerate(ops.values()):
            assert (op.weight.grad is not None) == (j == i)

def test_weight_step_runs_only_the_active_paths():
    choice, ops = linear_choice("binary-masked", n=5, num_on=2, num_eval=4)
    dnas.resample(choice, torch.Generator().manual_seed(0))
    choice.arch.alpha.requires_grad_(False)
    choice(torch.randn(2, 3, dtype=torch.float64)).sum().backward()
    assert sum(op.calls for op in ops) == 2

def test_proxyless_leaves_batchnorm_statistics_alone_and_runs_one_path_without_alpha_grad():
    ops = {"bn": nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)), "id": Fn(lambda x: x)}
    choice = dnas.LayerChoice(ops, label="e")
    dnas.relax(choice, "proxyless")
    choice.arch.sample = 1  # identity sampled; the BN path only runs for its gate gradient
    before = ops["bn"][1].running_mean.clone()
    choice(torch.randn(6, 3)).sum().backward()
    assert torch.equal(ops["bn"][1].running_mean, before)
    ops["id"].calls = 0
    choice.arch.alpha.requires_grad_(False)
    choice(torch.randn(6, 3)).sum()
    assert ops["id"].calls == 1

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

def test_too_many_active_paths_for_the_label_is_a_clear_error():
    net = BiasedChoice()
    dnas.relax(net, "binary", num_on=5)
    with pytest.raises(ValueError, match="num_on=5 exceeds the 4 candidates"):
        dnas.resample(net)


@pytest.mark.parametrize("evaluated", [(2, 0, 1, 3, 4), (3, 1)])
def test_presets_give_bit_identical_alpha_gradients_for_one_sample(evaluated):
    """binary / binary-masked / proxyless are one estimator: for the same sample (the same E and
    S) they produce the same α gradient, bit for bit."""
    x = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)
    every = len(evaluated) == 5
    presets = [("binary", {}), ("binary-masked", {"num_eval": len(evaluated)}),
               ("proxyless", {} if every else {"num_eval": len(evaluated)})]
    if not every:
        presets = presets[1:]  # binary evaluates every candidate
    grads = []
    for method, options in presets:
        choice, _ops = linear_choice(method, **options)
        choice.arch.sample = GateSample(torch.tensor(evaluated), 1, evaluated)
        (choice(x) * c).sum().backward()
        grads.append(choice.arch.alpha.grad)
    assert all(torch.equal(g, grads[0]) for g in grads[1:])
    assert (grads[0] != 0).sum() == len(evaluated)  # exactly E gets a gradient


@pytest.mark.parametrize("num_eval", [None, 2])
def test_both_samplers_draw_from_softmax_without_replacement(num_eval):
    """Gumbel-top-k keys (binary, binary-masked) and torch.multinomial (proxyless) draw the active
    candidate from p = softmax(α) and E without replacement: P(E = {i, j}) = p_i p_j (1/(1-p_i) +
    1/(1-p_j)). Frequencies over 6,000 draws within 5 standard errors of the exact values."""
    alpha = torch.tensor([0.8, -0.4, 0.3, 0.0])
    p = torch.softmax(alpha.double(), 0)
    n, draws = 4, 6000
    exact_on = p
    exact_pair = {(i, j): (p[i] * p[j] * (1 / (1 - p[i]) + 1 / (1 - p[j]))).item()
                  for i in range(n) for j in range(i + 1, n)}
    for sampler in SAMPLERS.values():
        g = torch.Generator().manual_seed(0)
        m = n if num_eval is None else num_eval
        samples = [sampler(alpha, m, 1, g) for _ in range(draws)]
        assert all(len(set(s.indices)) == m for s in samples)
        on = torch.bincount(torch.tensor([s.on[0] for s in samples]), minlength=n) / draws
        se = (exact_on * (1 - exact_on) / draws).sqrt()
        assert ((on.double() - exact_on).abs() <= 5 * se).all(), (sampler, on, exact_on)
        if num_eval == 2:
            for pair, q in exact_pair.items():
                f = sum(tuple(sorted(s.indices)) == pair for s in samples) / draws
                assert abs(f - q) <= 5 * (q * (1 - q) / draws) ** 0.5, (sampler, pair, f, q)
