"""The NASLib-style optimisers take exactly the steps of dnas.search (same α, bit for bit)."""

from __future__ import annotations

import pytest
import torch

import dnas
from dnas.naslib import DARTSOptimizer, DrNASOptimizer, GDASOptimizer
from dnas.spaces import nb201
from tests.helpers import ToyClassifier, toy_classification


def _full_batch_data():
    train, valid = toy_classification(n=64)
    return train, valid


def _alphas(model):
    return {k: g.alpha.detach().clone() for k, g in dnas.space.bind(model).items()}


@pytest.mark.parametrize("cls,method,unrolled", [
    (DARTSOptimizer, "darts", False), (DARTSOptimizer, "darts", True),
    (DrNASOptimizer, "drnas", False), (GDASOptimizer, "gdas", False),
])
def test_steps_equal_dnas_search(cls, method, unrolled):
    train, valid = _full_batch_data()
    epochs, n = 3, train[0].shape[0]
    torch.manual_seed(0)
    reference = ToyClassifier()
    torch.manual_seed(0)
    model = ToyClassifier()
    # full batches: every step of dnas.search sees the whole split, as each step() call below
    result = dnas.search(reference, train, valid, method=method, order=2 if unrolled else 1,
                         epochs=epochs, batch_size=n, steps_per_epoch=2, seed=5, device="cpu",
                         arch_lr=0.01)
    opt = cls(unrolled=unrolled, epochs=epochs, arch_learning_rate=0.01, seed=5, device="cpu")
    opt.adapt_search_space(model)
    losses = []
    for epoch in range(epochs):
        opt.new_epoch(epoch)
        for _ in range(2):
            logits_train, logits_val, loss_train, loss_val = opt.step(train, valid)
            losses.append((float(loss_train), float(loss_val)))
    assert logits_train.shape == (n, 3) and logits_val.shape == (valid[0].shape[0], 3)
    assert all(l_t > 0 and l_v > 0 for l_t, l_v in losses)
    a, b = _alphas(reference), _alphas(model)
    for label in a:
        assert torch.equal(a[label], b[label]), label
    for (name, p), q in zip(reference.named_parameters(), model.parameters()):
        assert torch.equal(p, q), name
    assert opt.get_final_architecture() == result.architecture
    assert isinstance(opt.get_final_model(), torch.nn.Module)


def test_nb201_space_and_interface_details():
    net = nb201.search_network(C=4, N=1, dim=1, ops=nb201.OPS_4)
    X = torch.randn(16, 1, 16)
    y = torch.randint(0, 10, (16,))
    opt = DARTSOptimizer(epochs=1, device="cpu")
    with pytest.raises(RuntimeError, match="adapt_search_space"):
        opt.step((X, y), (X, y))
    opt.adapt_search_space(net, dataset="mnist1d")
    opt.new_epoch(0)
    out = opt.step((X, y), (X, y))
    assert len(out) == 4 and out[2].dim() == 0
    arch = opt.get_final_architecture()
    assert set(arch) == set(nb201.LABELS)
    assert opt.get_model_size() > 0 and opt.get_op_optimizer() is torch.optim.SGD
    assert "searcher" in opt.get_checkpointables()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="op_optimizer"):
        DARTSOptimizer(op_optimizer="Adam")
    with pytest.raises(ValueError, match="arch_optimizer"):
        DARTSOptimizer(arch_optimizer="RMSprop")
    with pytest.raises(ValueError, match="loss_criteria"):
        DARTSOptimizer(loss_criteria="HingeLoss")
    with pytest.raises(ValueError, match="search_space"):
        DARTSOptimizer().adapt_search_space(torch.nn.Linear(2, 2))
    # every value is checked, and named as the NASLib constructor names it
    for kwargs in ({"learning_rate": -1}, {"learning_rate": "0.1"}, {"momentum": 2},
                   {"weight_decay": -1}, {"arch_learning_rate": float("nan")},
                   {"arch_weight_decay": -1}, {"grad_clip": 0}, {"epochs": 0},
                   {"unrolled": "yes"}):
        (name, value), = kwargs.items()
        with pytest.raises(ValueError, match=f"^{name}={value!r} must be"):
            DARTSOptimizer(**kwargs)
