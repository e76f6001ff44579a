"""The bilevel search: argument checks, data forms, determinism, persistent iterators, callbacks."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import dnas
from dnas.bilevel import SearchConfig
from tests.helpers import BiasedChoice, teacher_task


def data(n=64):
    return teacher_task("sin", n=n)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"method": "dartz"}, r"method='dartz' must be one of .*'darts'.*'proxyless'"),
        ({"order": 3}, "order=3"),
        ({"epochs": -1}, "epochs=-1"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"w_lr": -0.1}, "w_lr=-0.1"),
        ({"grad_clip": 0}, "grad_clip=0"),
        ({"device": "tpu9"}, "device='tpu9'"),
        ({"learning_rate": 1}, r"unknown search option\(s\) \['learning_rate'\]"),
        ({"method": "gdas", "method_options": {"tau": 3}}, "bad options for method='gdas'"),
    ],
)
def test_bad_arguments_fail_before_training(kwargs, match):
    net = BiasedChoice()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    train, valid = data()
    with pytest.raises(ValueError, match=match):
        dnas.search(net, train, valid, **kwargs)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_empty_and_malformed_data():
    net = BiasedChoice()
    train, valid = data()
    with pytest.raises(ValueError, match="train is empty"):
        dnas.search(net, (torch.zeros(0, 4), torch.zeros(0)), valid, epochs=1)
    with pytest.raises(ValueError, match="valid is empty"):
        dnas.search(net, train, [], epochs=1)
    with pytest.raises(ValueError, match="X has 64 rows but y has 3"):
        dnas.search(net, (torch.zeros(64, 4), torch.zeros(3)), valid, epochs=1)
    with pytest.raises(ValueError, match="must be a DataLoader"):
        dnas.search(net, 42, valid, epochs=1)
    with pytest.raises(ValueError, match="no length"):
        dnas.search(net, iter([train]), valid, epochs=1)
    with pytest.raises(ValueError, match=r"loss_fn cannot compare the model output \(16,\)"):
        dnas.search(BiasedChoice(), (train[0][:64], train[1][:64, None].repeat(1, 3)), valid,
                    epochs=1, batch_size=16)
    class Lin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c = dnas.LayerChoice([torch.nn.Linear(4, 1), torch.nn.Linear(4, 1)], label="c")

        def forward(self, x):
            return self.c(x)[:, 0]

    with pytest.raises(ValueError, match=r"model cannot take the training inputs \(x: \(16, 3\)"):
        dnas.search(Lin(), (train[0][:, :3], train[1]), valid, epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="model has no LayerChoice"):
        dnas.search(torch.nn.Linear(4, 1), train, valid, epochs=1)


def test_same_seed_same_run_bit_for_bit():
    train, valid = data(256)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        net = BiasedChoice()
        r = dnas.search(net, train, valid, method="gdas", epochs=3, batch_size=16, seed=7)
        results.append((r.history, dict(net.state_dict())))
    (h1, s1), (h2, s2) = results
    assert [row["alpha"] for row in h1] == [row["alpha"] for row in h2]
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    # and the caller's global RNG is left as it would be without the search
    torch.manual_seed(123)
    dnas.search(BiasedChoice(), train, valid, epochs=1, seed=1)
    after = torch.rand(1)
    torch.manual_seed(123)
    BiasedChoice()
    assert torch.equal(after, torch.rand(1))


def test_dataloaders_and_iterables_are_accepted_and_iterated_persistently():
    (Xt, yt), (Xv, yv) = data(128)

    class Counting:
        def __init__(self, loader):
            self.loader, self.iters = loader, 0

        def __len__(self):
            return len(self.loader)

        def __iter__(self):
            self.iters += 1
            return iter(self.loader)

    train = Counting(DataLoader(TensorDataset(Xt, yt), batch_size=16, shuffle=True))
    valid = Counting(DataLoader(TensorDataset(Xv, yv), batch_size=16))
    r = dnas.search(BiasedChoice(), train, valid, epochs=3)
    assert len(r.history) == 3
    # 4 steps per epoch over 4 batches: one iterator per pass, never one per step
    assert train.iters == 3 and valid.iters == 3
    # a plain list of (x, y) batches works too
    batches = [(Xt[i:i + 16], yt[i:i + 16]) for i in range(0, 64, 16)]
    r = dnas.search(BiasedChoice(), batches, batches, epochs=1)
    assert r.history[0]["epoch"] == 1


def test_history_callbacks_and_stop():
    train, valid = data(128)
    seen = []

    class Stopper(dnas.Callback):
        def on_step_end(self, searcher):
            seen.append((searcher.epoch, searcher.step))

        def on_epoch_end(self, searcher):
            if searcher.epoch == 2:
                searcher.stop()

    r = dnas.search(BiasedChoice(), train, valid, epochs=5, batch_size=16, callbacks=[Stopper()])
    assert len(r.history) == 2
    assert seen[:2] == [(0, 1), (0, 2)]
    row = r.history[-1]
    assert set(row) >= {"epoch", "train_loss", "valid_loss", "train_acc", "lr", "probabilities"}
    assert row["train_loss"] == row["train_loss"]  # not NaN
    assert row["train_acc"] != row["train_acc"]  # regression: accuracy is NaN, not 0


def test_classification_accuracy_is_reported():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(128, 4, generator=g)
    y = (X[:, 0] > 0).long()

    class Clf(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)
            self.act = dnas.LayerChoice([torch.nn.Identity(), torch.nn.Tanh()], label="a")

        def forward(self, x):
            return self.act(self.lin(x))

    r = dnas.search(Clf(), (X[:64], y[:64]), (X[64:], y[64:]), epochs=5, batch_size=16)
    assert 0.5 < r.history[-1]["train_acc"] <= 1.0
    assert 0.0 <= r.history[-1]["valid_acc"] <= 1.0


def test_config_presets_and_overrides():
    c = SearchConfig.for_method("proxyless", epochs=3)
    assert c.arch_lr == 1e-3 and c.arch_betas == (0.0, 0.999) and c.epochs == 3
    c = SearchConfig.for_method("gdas", method_options={"tau_min": 0.5})
    assert c.method_options == {"tau_max": 10.0, "tau_min": 0.5}
    assert SearchConfig().w_lr == 0.025 and SearchConfig().grad_clip == 5.0
    r = dnas.search(BiasedChoice(), *data(), config=c.replace(epochs=1, seed=3))
    assert r.config.seed == 3 and r.config.method == "gdas"
    assert r.config.method_options == {"tau_max": 10.0, "tau_min": 0.5}


