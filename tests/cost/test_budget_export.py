"""Moving an exported architecture into the budget band by a score (the supernet's validation
loss) instead of by α: the ranking of moves, the score itself, and the search option."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dnas
import dnas.nn as dnn
from dnas.bilevel import SearchConfig
from dnas.cost import BudgetPenalty, CostModel, validation_loss


def _two_widths() -> nn.Module:
    a = dnas.ValueChoice([4, 16], label="a")
    b = dnas.ValueChoice([4, 16], label="b")
    return nn.Sequential(dnn.Linear(10, a), nn.ReLU(), dnn.Linear(a, 10), nn.ReLU(),
                         dnn.Linear(10, b), nn.ReLU(), dnn.Linear(b, 10))


def test_a_score_ranks_the_moves_instead_of_alpha():
    net = _two_widths()
    dnas.relax(net)
    groups = dnas.space.arch_groups(net)
    with torch.no_grad():  # both at 16 (over budget); α gives up less by narrowing "a"
        groups["a"].alpha.copy_(torch.tensor([0.0, 0.5]))
        groups["b"].alpha.copy_(torch.tensor([0.0, 3.0]))
    cm = CostModel(net, "params")
    start = dnas.derive(net)
    assert start["a"] == (16,) and start["b"] == (16,)
    budget = cm.cost({"a": 4, "b": 16})
    assert cm.cost({"a": 16, "b": 4}) == budget  # two moves reach the band, equal in cost
    by_alpha = BudgetPenalty(cm, budget).export(start)
    assert by_alpha["a"] == (4,) and by_alpha["b"] == (16,)
    assert by_alpha.meta["cost"]["export"] == "probability"

    seen = []

    def score(arch: dnas.Architecture) -> float:  # prefers a wide "a": the other move
        seen.append((arch["a"][0], arch["b"][0]))
        return 1.0 / arch["a"][0] + 0.01 * arch["b"][0]

    by_score = BudgetPenalty(cm, budget).export(start, score)
    assert by_score["a"] == (16,) and by_score["b"] == (4,)
    meta = by_score.meta["cost"]
    assert meta["export"] == "score" and meta["within_budget"] and meta["moved"] == ["b"]
    assert meta["score"]["start"] == pytest.approx(1 / 16 + 0.16)
    assert meta["score"]["exported"] == pytest.approx(1 / 16 + 0.04)
    assert len(seen) == len(set(seen)) == meta["score"]["evaluated"] == 3  # each scored once


def test_a_score_is_not_called_when_the_architecture_is_already_in_band():
    net = _two_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    start = dnas.Architecture({"a": 4, "b": 4})

    def score(arch):
        raise AssertionError("scored an architecture already in band")

    out = BudgetPenalty(cm, cm.cost(start)).export(start, score)
    assert out["a"] == (4,) and "score" not in out.meta["cost"]


def test_a_nan_score_is_refused():
    net = _two_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    with pytest.raises(ValueError, match="NaN"):
        BudgetPenalty(cm, cm.cost({"a": 4, "b": 4})).export(
            dnas.Architecture({"a": 16, "b": 16}), lambda arch: float("nan"))


def test_validation_loss_is_the_fixed_networks_loss_with_batch_statistics():
    torch.manual_seed(0)
    w = dnas.ValueChoice([3, 6], label="w")
    net = nn.Sequential(dnn.Linear(5, w), dnn.BatchNorm1d(w), nn.ReLU(), dnn.Linear(w, 2))
    dnas.relax(net)
    X, y = torch.randn(40, 5), torch.randint(0, 2, (40,))
    batches = [(X[:32], y[:32]), (X[32:], y[32:])]
    score = validation_loss(net, batches)
    for width in (3, 6):
        arch = dnas.Architecture({"w": width})
        fixed = dnas.fix(net, arch).train()
        with torch.no_grad():
            want = (F.cross_entropy(fixed(X[:32]), y[:32]) * 32
                    + F.cross_entropy(fixed(X[32:]), y[32:]) * 8) / 40
        assert score(arch) == pytest.approx(float(want), rel=1e-6)
    assert score(dnas.Architecture({"w": 3})) != score(dnas.Architecture({"w": 6}))
    running = [m.running_mean.clone() for m in net.modules() if hasattr(m, "running_mean")]
    score(dnas.Architecture({"w": 6}))  # the supernet's statistics stay as they were
    after = [m.running_mean for m in net.modules() if hasattr(m, "running_mean")]
    assert all(torch.equal(a, b) for a, b in zip(running, after))
    with pytest.raises(ValueError, match="at least one batch"):
        validation_loss(net, [])


class WidthNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        w = dnas.ValueChoice([4, 8, 16, 32], label="w")
        w2 = dnas.ValueChoice([4, 8, 16, 32], label="w2")
        self.body = nn.Sequential(dnn.Linear(6, w), nn.ReLU(), dnn.Linear(w, w2), nn.ReLU(),
                                  dnn.Linear(w2, 3))

    def forward(self, x):
        return self.body(x)


def _data(n=128):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return (X[: n // 2], y[: n // 2]), (X[n // 2 :], y[n // 2 :])


def test_search_with_budget_export_validation_moves_by_the_supernets_loss():
    cost = CostModel(WidthNet(), "params")
    budget = cost.cost({"w": 8, "w2": 8})
    kwargs = dict(method="darts", epochs=2, batch_size=16, cost="params", budget=budget,
                  cost_weight=0.0, arch_lr=0.0, device="cpu", seed=0)  # α stays uniform
    torch.manual_seed(0)
    result = dnas.search(WidthNet(), *_data(), budget_export="validation", **kwargs)
    meta = result.architecture.meta["cost"]
    assert meta["within_budget"] and meta["export"] == "score" and meta["moved"]
    # the recorded score is the trained supernet's loss on the validation split at the export
    _, valid = _data()
    assert meta["score"]["exported"] == pytest.approx(
        validation_loss(result.model, [valid])(result.architecture), rel=1e-5)
    torch.manual_seed(0)
    plain = dnas.search(WidthNet(), *_data(), **kwargs)
    assert plain.architecture.meta["cost"]["export"] == "one-shot"  # the default


def test_the_default_export_is_one_shot():
    assert SearchConfig().budget_export == "one-shot"
    assert SearchConfig.for_method("gdas").budget_export == "one-shot"


def test_budget_export_is_checked():
    with pytest.raises(ValueError, match="budget_export='loss'.*probability.*validation"):
        SearchConfig(cost="params", budget=10.0, budget_export="loss")


# ---------------------------------------------------------------------------- one-shot export
def _three_widths() -> nn.Module:
    sizes = [dnas.ValueChoice([2, 4, 8, 16], label=k) for k in "abc"]
    layers: list[nn.Module] = []
    c_in = 6
    for s in sizes:
        layers += [dnn.Linear(c_in, s), nn.ReLU()]
        c_in = s
    return nn.Sequential(*layers, dnn.Linear(c_in, 3))


def _every_architecture(cm: CostModel):
    import itertools

    for a, b, c in itertools.product([2, 4, 8, 16], repeat=3):
        arch = dnas.Architecture({"a": a, "b": b, "c": c})
        yield arch, cm.cost(arch)


def _sizes(arch: dnas.Architecture) -> tuple[int, int, int]:
    return arch["a"][0], arch["b"][0], arch["c"][0]


@pytest.mark.parametrize("samples", [0, 8])
def test_one_shot_finds_the_in_band_optimum_of_a_score(samples):
    """With a score that has one minimum in the band and enough evaluations, the search lands
    on it (checked against every architecture); every architecture scored is in the band and
    scored once."""
    net = _three_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    penalty = BudgetPenalty(cm, cm.cost({"a": 8, "b": 8, "c": 8}))
    low, high = penalty.band()
    target = (16, 4, 8)  # the score's favourite, far from α's uniform pick

    seen = []

    def score(arch: dnas.Architecture) -> float:
        seen.append(_sizes(arch))
        return sum(abs(torch.tensor(v).log2().item() - torch.tensor(t).log2().item())
                   for v, t in zip(_sizes(arch), target)) + 0.001 * cm.cost(arch) / high

    in_band = [(score(a), _sizes(a)) for a, c in _every_architecture(cm) if low <= c <= high]
    best = min(in_band)[1]
    seen.clear()
    out = penalty.search(dnas.Architecture({"a": 16, "b": 16, "c": 16}), score, samples=samples,
                         max_evaluations=1000, generator=torch.Generator().manual_seed(0))
    assert _sizes(out) == best
    meta = out.meta["cost"]
    assert meta["export"] == "one-shot" and meta["within_budget"]
    assert meta["value"] == cm.cost(out) and low <= meta["value"] <= high
    assert len(seen) == len(set(seen)) == meta["score"]["evaluated"]
    assert all(low <= cm.cost({"a": a, "b": b, "c": c}) <= high for a, b, c in seen)
    assert meta["score"]["exported"] == pytest.approx(min(s for s, _ in in_band) + 0, rel=1e-9)
    assert meta["score"]["exported"] <= meta["score"]["start"]


def test_one_shot_stays_within_its_evaluations_and_is_reproducible():
    net = _three_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    penalty = BudgetPenalty(cm, cm.cost({"a": 8, "b": 8, "c": 8}))
    calls = []

    def score(arch):
        calls.append(_sizes(arch))
        return float(sum(_sizes(arch)))

    start = dnas.Architecture({"a": 16, "b": 16, "c": 16})
    runs = [penalty.search(start, score, samples=4, max_evaluations=5,
                           generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    assert len(calls) == 10 and calls[:5] == calls[5:]  # 5 each, the same ones
    assert runs[0] == runs[1] and runs[0].meta["cost"]["score"]["evaluated"] == 5


@pytest.mark.parametrize("kwargs,error,match", [
    ({"samples": -1}, ValueError, r"^samples=-1 must be an integer >= 0"),
    ({"max_evaluations": 0}, ValueError, r"^max_evaluations=0 must be an integer >= 1"),
    ({"score": "loss"}, TypeError, r"^score must be a callable taking an Architecture, got str"),
])
def test_one_shot_arguments_are_named(kwargs, error, match):
    net = _three_widths()
    dnas.relax(net)
    cm = CostModel(net, "params")
    args = {"score": lambda arch: 0.0, **kwargs}
    with pytest.raises(error, match=match):
        BudgetPenalty(cm, cm.cost({"a": 8, "b": 8, "c": 8})).search(
            dnas.Architecture({"a": 16, "b": 16, "c": 16}), args.pop("score"), **args)


def test_a_model_with_its_own_export_rule_keeps_the_alpha_rules_pick():
    net = _three_widths()
    dnas.relax(net)
    net.derive_architecture = lambda: None  # as DARTS cells: moves could break its structure
    cm = CostModel(net, "params")
    start = dnas.Architecture({"a": 4, "b": 4, "c": 4})

    def score(arch):
        raise AssertionError("scored although the model keeps its own rule")

    out = BudgetPenalty(cm, cm.cost({"a": 8, "b": 8, "c": 8})).search(start, score)
    assert _sizes(out) == (4, 4, 4) and out.meta["cost"]["export"] == "probability"


def test_search_with_budget_export_one_shot():
    cost = CostModel(WidthNet(), "params")
    budget = cost.cost({"w": 8, "w2": 8})
    kwargs = dict(method="darts", epochs=2, batch_size=16, cost="params", budget=budget,
                  device="cpu", seed=0, budget_export="one-shot",
                  cost_options={"export_samples": 4, "export_evaluations": 12})
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        results.append(dnas.search(WidthNet(), *_data(), **kwargs))
    arch = results[0].architecture
    meta = arch.meta["cost"]
    assert meta["export"] == "one-shot" and meta["within_budget"]
    assert 1 <= meta["score"]["evaluated"] <= 12
    _, valid = _data()  # the score recorded is the trained supernet's validation loss
    assert meta["score"]["exported"] == pytest.approx(
        validation_loss(results[0].model, [valid])(arch), rel=1e-5)
    assert results[1].architecture == arch  # the same draws: the same architecture


def test_one_shot_options_are_checked():
    with pytest.raises(ValueError, match=r"cost_options\['export_samples'\]=-2 must be"):
        SearchConfig(cost="params", budget=10.0, budget_export="one-shot",
                     cost_options={"export_samples": -2})
    with pytest.raises(ValueError, match=r"cost_options\['export_evaluations'\]=0 must be"):
        SearchConfig(cost="params", budget=10.0, budget_export="one-shot",
                     cost_options={"export_evaluations": 0})


def test_one_shot_never_picks_a_none_operation():
    """As the moves of the α rule, the search never lands on a "none" candidate (a zero
    operation would cut the network), although draws from the band can hold one."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            w = dnas.ValueChoice([4, 8, 16], label="w")
            self.a = dnn.Linear(6, w)
            self.op = dnas.LayerChoice({"lin": dnn.Linear(w, w), "none": Zero()}, label="op")
            self.b = dnn.Linear(w, 3)

        def forward(self, x):
            h = torch.relu(self.a(x))
            return self.b(h + self.op(h))

    class Zero(nn.Module):
        def forward(self, x):
            return x * 0.0

    net = Net()
    dnas.relax(net)
    cm = CostModel(net, "params")
    penalty = BudgetPenalty(cm, cm.cost({"w": 8, "op": "lin"}), tolerance=0.6)
    picked = []

    def score(arch):  # the "none" architectures would score best
        picked.append(arch["op"][0])
        return 0.0 if arch["op"] == ("none",) else 1.0 / arch["w"][0]

    out = penalty.search(dnas.Architecture({"w": 16, "op": "lin"}), score, samples=16,
                         generator=torch.Generator().manual_seed(0))
    assert out["op"] == ("lin",) and "none" not in picked
