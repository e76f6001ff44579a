"""The functional objective L(w, α): every pass leaves the model's own tensors in place."""

import pytest
import torch
from torch import nn

import dnas
from dnas.bilevel.config import SearchConfig
from dnas.bilevel.loop import Searcher
from dnas.optim.objective import Objective, tied_slots
from tests.helpers import TEST_OPTIONS, shared_labels


def _alphas_in_model(model):
    """Every α tensor the model's choices hold, one entry per choice."""
    return [m.arch.alpha for m in model.modules() if isinstance(m, (dnas.LayerChoice,
                                                                   dnas.InputChoice))]


def _regression(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, 6, generator=g)
    return x, x.sum((1, 2)).sin()


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("method", dnas.methods())
def test_alpha_stays_the_optimisers_parameter_after_an_alpha_step(method, order):
    model = shared_labels(method)
    cfg = SearchConfig.for_method(method, order=order, batch_size=8, epochs=1, device="cpu",
                                  seed=0, method_options=TEST_OPTIONS.get(method, {}))
    s = Searcher(model, _regression(), _regression(seed=1), cfg)
    held = {id(p) for group in s.a_optimizer.param_groups for p in group["params"]}
    assert len(held) == 3  # "op" (shared by two choices), "other", "in"
    seen_in_weight_step = []

    def record(module, args):
        seen_in_weight_step.append((module.arch.alpha, module.arch.alpha.requires_grad))

    for step in range(3):
        tb, vb = s.train.next(), s.valid.next()  # CPU batches
        s.arch_step(tb, vb)
        alphas = _alphas_in_model(model)
        assert all(type(a) is nn.Parameter and id(a) in held for a in alphas), step
        assert model.a.arch.alpha is model.b.arch.alpha
        assert {id(p) for p in model.parameters()} >= held  # parameters() sees the Parameters
        grads = [a.grad.clone() for a in s.alphas]
        hooks = [m.register_forward_pre_hook(record) for m in model.modules()
                 if isinstance(m, (dnas.LayerChoice, dnas.InputChoice))]
        s.weight_step(tb)
        for h in hooks:
            h.remove()
        # the weight step sees the Parameters, frozen: no α gradient is computed...
        assert seen_in_weight_step and all(id(a) in held and not rg
                                           for a, rg in seen_in_weight_step)
        seen_in_weight_step.clear()
        # ... and none is accumulated anywhere
        assert all(torch.equal(a.grad, g) for a, g in zip(s.alphas, grads))
        assert all(a.grad is None or any(a is p for p in s.alphas)
                   for a in _alphas_in_model(model))


def test_objective_passes_restore_every_parameter_and_buffer():
    model = shared_labels("darts")
    before = {n: t for n, t in model.named_parameters(remove_duplicate=False)}
    before |= {n: t for n, t in model.named_buffers(remove_duplicate=False)}
    f = Objective(model, lambda out, y: (out - y).square().mean())
    x, y = _regression(8)
    w = {n: p.detach().clone().requires_grad_(True) for n, p in f.w_params.items()}
    alpha = {k: a.detach().clone().requires_grad_(True) for k, a in f.alphas.items()}
    f.loss(w, alpha, (x, y), regularize=True).backward()
    after = {n: t for n, t in model.named_parameters(remove_duplicate=False)}
    after |= {n: t for n, t in model.named_buffers(remove_duplicate=False)}
    assert before.keys() == after.keys()
    assert all(before[n] is after[n] for n in before)
    assert all(t.grad is not None for t in alpha.values())


class Tied(nn.Module):
    """An embedding tied to the output layer (one Parameter in two modules), and a shared
    module registered under two paths."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.out = nn.Linear(3, 5, bias=False)
        self.out.weight = self.emb.weight
        self.mid = nn.Linear(3, 3)
        self.again = self.mid
        self.choice = dnas.LayerChoice({"tanh": nn.Tanh(), "id": nn.Identity()}, label="c")

    def forward(self, idx):
        return self.out(self.choice(self.again(self.mid(self.emb(idx)))))


def test_tied_weights_get_the_substituted_value_in_every_module():
    model = Tied()
    slots = tied_slots(model)
    assert slots == {"emb.weight": ["out.weight"]}  # the shared `mid` is one slot, not a tie
    f = Objective(model, lambda out, y: nn.functional.cross_entropy(out, y))
    idx = torch.tensor([0, 3, 4])
    zero = {n: torch.zeros_like(p) for n, p in f.w_params.items()}
    alpha = {k: a.detach() for k, a in f.alphas.items()}
    # all weights zero: the logits are zero, so the loss is log(5) whatever the tie does ...
    assert f.loss(zero, alpha, (idx, idx)).item() == pytest.approx(torch.log(torch.tensor(5.0)))
    # ... and with only the embedding changed, the output layer must see the change as well
    w = {n: p.detach() for n, p in f.w_params.items()}
    w["emb.weight"] = torch.zeros_like(w["emb.weight"])
    assert f.loss(w, alpha, (idx, idx)).item() == pytest.approx(torch.log(torch.tensor(5.0)))
    assert model.out.weight is model.emb.weight and type(model.out.weight) is nn.Parameter
