"""moving-average: running means of candidate outputs stand in for the unevaluated gates."""

import torch

import dnas
from dnas.relaxations.moving_average import RunningMeans
from tests.helpers import BiasedChoice, Fn, teacher_task


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
