"""A search under a cost budget: the penalty's gradient joins α's of any order, the history reports
the costs, the exported architecture records its exact cost, and resume / torchrun stay exact."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import dnas
import dnas.nn as dnn
from dnas.bilevel import SearchConfig, Searcher, distributed
from dnas.runtime.checkpoint import load_checkpoint, save_checkpoint
from tests.helpers import StopAt


class WidthNet(nn.Module):
    """Linear -> searchable width and activation -> linear (no BatchNorm: shards compare)."""

    def __init__(self) -> None:
        super().__init__()
        w = dnas.ValueChoice([4, 8, 16, 32], label="w")
        self.inp = dnn.Linear(6, w)
        self.act = dnas.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")
        self.out = dnn.Linear(w, 3)

    def forward(self, x):
        return self.out(self.act(self.inp(x)))


def _data(n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return (X[: n // 2], y[: n // 2]), (X[n // 2 :], y[n // 2 :])


def _config(**kw):
    base = dict(epochs=2, batch_size=16, device="cpu", progress=False, cost="params",
                budget=300.0, arch_lr=0.05)
    base.update(kw)
    return SearchConfig.for_method(base.pop("method", "darts"), **base)


def test_search_reports_costs_and_exports_within_budget():
    torch.manual_seed(0)
    result = dnas.search(WidthNet(), *_data(), method="darts", epochs=3, batch_size=16,
                         cost="params", budget=300, cost_weight=1.0, device="cpu")
    for row in result.history:
        assert {"expected_cost", "argmax_cost", "cost_penalty"} <= set(row)
    first, last = result.history[0], result.history[-1]
    assert abs(last["expected_cost"] - 300) < abs(first["expected_cost"] - 300)
    meta = result.architecture.meta["cost"]
    fixed = dnas.fix(WidthNet(), result.architecture)
    assert meta["value"] == sum(p.numel() for p in fixed.parameters())
    assert meta["within_budget"] and 270 <= meta["value"] <= 330
    assert meta["budget"] == 300 and meta["kind"] == "params"


@pytest.mark.parametrize("order", [1, 2])
def test_penalty_gradient_adds_to_the_architecture_gradient(order):
    def grads(cost):
        torch.manual_seed(0)
        kw = {"cost": "params", "budget": 100.0, "cost_weight": 3.0} if cost else {}
        s = Searcher(WidthNet(), *_data(), SearchConfig(order=order, device="cpu", **kw))
        seen = {}
        s.a_optimizer.step = lambda: seen.update(  # what the optimiser is handed; no step
            {k: g.alpha.grad.clone() for k, g in s.groups.items()})
        train, valid = _data()
        s.arch_step(train, valid)
        return seen, s

    plain, _ = grads(False)
    with_cost, s = grads(True)
    extra = s.budget.gradients()
    assert extra["w"].abs().sum() > 0
    assert extra["act"].abs().sum() == 0  # both activations cost nothing
    torch.testing.assert_close(with_cost["w"], plain["w"] + extra["w"])
    torch.testing.assert_close(with_cost["act"], plain["act"])


def test_search_refuses_a_budget_no_architecture_can_meet_before_any_step():
    # WidthNet costs 10w + 3 parameters: 43 (w=4) to 323 (w=32)
    net = WidthNet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="budget=10000 is out of reach: .* cost 43 to 323"):
        dnas.search(net, *_data(), method="darts", epochs=1, batch_size=16, cost="params",
                    budget=10_000, device="cpu")
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # not one step was taken


def test_config_checks():
    with pytest.raises(ValueError, match="needs a budget"):
        SearchConfig(cost="params")
    with pytest.raises(ValueError, match="needs cost="):
        SearchConfig(budget=10.0)
    with pytest.raises(ValueError, match="cost='mass'"):
        SearchConfig(cost="mass", budget=1.0)
    with pytest.raises(ValueError, match="budget=-1"):
        SearchConfig(cost="flops", budget=-1)
    with pytest.raises(ValueError, match="unknown cost_options"):
        dnas.search(WidthNet(), *_data(), epochs=1, cost="params", budget=10.0,
                    cost_options={"colour": 1}, device="cpu")


def test_resume_with_a_budget_is_bitwise_exact(tmp_path):
    config = _config(epochs=3, method="gdas")
    torch.manual_seed(0)
    full = Searcher(WidthNet(), *_data(), config)
    result_full = full.run()
    torch.manual_seed(0)
    first = Searcher(WidthNet(), *_data(), config, callbacks=[StopAt(1, 1)])
    first.run()
    save_checkpoint(first.state_dict(), tmp_path / "last.pt")
    torch.manual_seed(7)
    resumed = Searcher(WidthNet(), *_data(), config)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    result = resumed.run()
    for (n, a), b in zip(full.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(a, b), n
    assert result.architecture == result_full.architecture
    assert result.architecture.meta["cost"] == result_full.architecture.meta["cost"]
    assert [r["expected_cost"] for r in result.history] == [
        r["expected_cost"] for r in result_full.history
    ]


def _search(dp=None):
    torch.manual_seed(0)
    s = Searcher(WidthNet(), *_data(), _config(order=2))
    s.data_parallel = dp
    return s.run()


def _worker(rank: int, port: int, folder: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_RANK=str(rank))
    dp, _ = distributed.init_from_env(torch.device("cpu"))
    try:
        result = _search(dp)
        alphas = {k: g.alpha.detach().clone() for k, g in dnas.space.arch_groups(
            result.model).items()}
        torch.save({"alpha": alphas, "arch": result.architecture.to_json()},
                   os.path.join(folder, f"rank{rank}.pt"))
    except BaseException:
        distributed.shutdown(failed=True)
        raise
    distributed.shutdown()


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")
def test_two_processes_search_one_budgeted_architecture(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    single = _search()
    assert ranks[0]["arch"] == ranks[1]["arch"]
    for label, a in ranks[0]["alpha"].items():
        assert torch.equal(a, ranks[1]["alpha"][label])
        torch.testing.assert_close(a, dnas.space.arch_groups(single.model)[label].alpha.detach(),
                                   rtol=1e-5, atol=2e-7)
