"""The retraining loop: the DARTS recipe's pieces (auxiliary loss, drop-path ramp, cosine SGD),
exact resume, bad options."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dnas.runtime.checkpoint import Checkpoint, load_checkpoint
from dnas.train import RetrainConfig, Trainer, retrain


class AuxToy(nn.Module):
    """Returns (logits, aux_logits) in training mode; records drop_path_prob at each forward."""

    def __init__(self, d: int = 5, classes: int = 3) -> None:
        super().__init__()
        self.main = nn.Linear(d, classes)
        self.aux = nn.Linear(d, classes)
        self.drop_path_prob = 0.0
        self.seen: list[float] = []

    def forward(self, x):
        self.seen.append(self.drop_path_prob)
        logits = self.main(x)
        return (logits, self.aux(x)) if self.training else logits


def data(n: int = 48, d: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    return (X[:32], y[:32]), (X[32:], y[32:])


def test_auxiliary_loss_weight_enters_the_training_loss():
    torch.manual_seed(0)
    model = AuxToy()
    train, test = data()
    cfg = RetrainConfig(epochs=1, batch_size=32, lr=0.0, grad_clip=None, device="cpu",
                        auxiliary_weight=0.4, progress=False)
    result = retrain(model, train, test, cfg)
    X, y = train
    with torch.no_grad():
        expected = F.cross_entropy(model.main(X), y) + 0.4 * F.cross_entropy(model.aux(X), y)
    assert result.history[0]["train_loss"] == pytest.approx(float(expected), rel=1e-6)
    with torch.no_grad():
        acc = float((model.main(test[0]).argmax(1) == test[1]).float().mean())
    assert result.test_accuracy == pytest.approx(acc)


def test_drop_path_ramps_linearly_and_lr_follows_the_cosine():
    torch.manual_seed(0)
    model = AuxToy()
    train, test = data()
    cfg = RetrainConfig(epochs=4, batch_size=16, drop_path_prob=0.2, lr=0.1, lr_min=0.0,
                        device="cpu", progress=False)
    result = retrain(model, train, test, cfg)
    assert [r["drop_path_prob"] for r in result.history] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    # per epoch: 2 training steps, then 1 evaluation pass, all at that epoch's probability
    assert model.seen == pytest.approx([p for p in (0.0, 0.05, 0.1, 0.15) for _ in range(3)])
    lrs = [r["lr"] for r in result.history]
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])


def _trainer(cfg, callbacks=(), seed=0):
    from dnas.spaces.darts import eval_network, genotype

    torch.manual_seed(seed)
    model = eval_network(genotype("DARTS_V2"), C=4, layers=3, num_classes=3, auxiliary=True,
                         dim=1, in_channels=1)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(40, 1, 32, generator=g)
    y = torch.randint(0, 3, (40,), generator=g)
    from dnas.data import Augment

    return Trainer(model, (X[:32], y[:32]), (X[32:], y[32:]), cfg, callbacks=callbacks,
                   augment=Augment(crop_padding=2, cutout=4, dim=1), dim=1)


def test_resume_from_an_epoch_checkpoint_is_bitwise_exact(tmp_path):
    cfg = RetrainConfig(epochs=2, batch_size=8, drop_path_prob=0.3, device="cpu", progress=False)
    full = _trainer(cfg)
    full.run()
    _trainer(cfg, callbacks=[Checkpoint(tmp_path, keep_epochs=True)]).run()
    resumed = _trainer(cfg, seed=5)
    resumed.load_state_dict(load_checkpoint(tmp_path / "epoch_1.pt"))
    assert resumed.epoch == 1
    resumed.run()
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert resumed.history[-1]["train_loss"] == full.history[-1]["train_loss"]


def test_bf16_autocast_runs_on_cpu():
    torch.manual_seed(0)
    train, test = data()
    result = retrain(AuxToy(), train, test, epochs=1, batch_size=16, amp="bf16", device="cpu",
                     progress=False)
    assert math.isfinite(result.history[0]["train_loss"])


@pytest.mark.parametrize(
    "options, match",
    [
        ({"epochs": -1}, "epochs=-1"),
        ({"lr": -0.1}, "lr=-0.1"),
        ({"drop_path_prob": 1.0}, "drop_path_prob=1.0"),
        ({"grad_clip": 0}, "grad_clip=0"),
        ({"amp": "fp16"}, "amp='fp16'"),
        ({"batch_size": 2.5}, "batch_size=2.5"),
    ],
)
def test_bad_options_name_the_parameter(options, match):
    with pytest.raises(ValueError, match=match):
        RetrainConfig(**options)


def test_unknown_option_is_named():
    train, test = data()
    with pytest.raises(ValueError, match="learning_rate"):
        retrain(AuxToy(), train, test, learning_rate=0.1)
