"""A tiny search on random data through dnas.search, then the derived cells retrained."""

import math

import pytest
import torch

import dnas
from dnas.spaces.darts import eval_network, search_network, validate_architecture


def _data(shape, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("order", [1, 2])
def test_tiny_search_runs_and_its_result_retrains(order):
    torch.manual_seed(0)
    net = search_network(C=4, layers=2, dim=1, in_channels=1, num_classes=3)
    before = {label: p.detach().clone() for label, (_, p) in
              dnas.space.named_arch_parameters(net).items()}
    train, valid = _data((1, 32), 8, 0), _data((1, 32), 8, 1)
    result = dnas.search(net, train, valid, order=order, epochs=1, steps_per_epoch=2,
                         batch_size=4, device="cpu", progress=False, seed=0)
    assert len(result.history) == 1
    row = result.history[0]
    assert math.isfinite(row["train_loss"]) and math.isfinite(row["valid_loss"])
    after = dict(dnas.space.named_arch_parameters(net))
    assert all(not torch.equal(before[k], after[k][1].detach()) for k in before)  # α moved

    arch = dnas.Architecture.from_json(result.architecture.to_json())
    validate_architecture(arch)
    assert arch.meta["order"] == order
    assert all(label.startswith("reduce/") for label in arch)  # 2 cells: both reduce

    model = eval_network(arch, C=4, layers=2, num_classes=3, dim=1, in_channels=1,
                         drop_path_prob=0.2).train()
    logits, aux = model(train[0])  # 32 -> 16 -> 8 at the auxiliary head
    (torch.nn.functional.cross_entropy(logits, train[1])
     + 0.4 * torch.nn.functional.cross_entropy(aux, train[1])).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_pc_darts_search_on_the_partial_channel_network():
    torch.manual_seed(0)
    net = search_network(C=8, layers=3, dim=1, in_channels=1, num_classes=3,
                         partial_channels=2, edge_normalization=True)
    train, valid = _data((1, 16), 4, 0), _data((1, 16), 4, 1)
    result = dnas.search(net, train, valid, method="pc-darts",
                         method_options={"partial_channels": 2}, epochs=1, steps_per_epoch=1,
                         batch_size=4, device="cpu", progress=False, seed=0)
    arch = result.architecture
    assert {label for label in arch if "/node_" in label} == {
        f"{c}/node_{k}" for c in ("normal", "reduce") for k in range(2, 6)}
    model = eval_network(arch, C=4, layers=3, num_classes=3, dim=1, auxiliary=False)
    assert model(train[0]).shape == (4, 3)
    with pytest.raises(ValueError, match="eval_network"):
        dnas.fix(net, arch)(train[0])


def test_fix_like_flow_in_two_dimensions():
    torch.manual_seed(0)
    net = search_network(C=4, layers=2, dim=2, in_channels=1, num_classes=3)
    arch = net.derive_architecture()
    model = eval_network(arch, C=4, layers=2, num_classes=3, dim=2, in_channels=1).train()
    x, y = _data((1, 32, 32), 2, 0)
    logits, aux = model(x)
    (torch.nn.functional.cross_entropy(logits, y) + aux.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())
    fixed = dnas.fix(net, arch)
    fixed(x).sum().backward()
    assert model.eval()(x).shape == fixed(x).shape == (2, 3)
