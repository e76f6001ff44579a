"""Every relaxation searches the NAS-Bench-201 supernet, including draws that cut paths off."""

import pytest
import torch

import dnas
from dnas.spaces import nb201


@pytest.mark.parametrize("method", ["gdas", "binary", "proxyless"])
def test_path_sampling_relaxations_pass_the_first_batch_checks(method):
    # with these seeds a first draw samples `none` where it cuts some label off the output;
    # other draws reach it, so the search must start
    X = torch.randn(32, 1, 16, generator=torch.Generator().manual_seed(0))
    y = torch.arange(32) % 10
    for seed in (0, 1, 4, 5, 7):
        net = nb201.search_network(C=8, N=1, dim=1, ops=nb201.OPS_4)
        result = dnas.search(net, (X, y), (X, y), method=method, epochs=1, steps_per_epoch=1,
                             batch_size=32, seed=seed, device="cpu")
        assert set(result.architecture) == set(nb201.LABELS)


def test_an_unused_choice_is_still_reported():
    class Unused(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nb201.search_network(C=4, N=1, dim=1, ops=nb201.OPS_4)
            self.spare = dnas.LayerChoice({"a": torch.nn.Identity(), "b": torch.nn.Tanh()},
                                          label="spare")

        def forward(self, x):
            return self.net(x)

    X, y = torch.randn(8, 1, 16), torch.arange(8) % 10
    with pytest.raises(ValueError, match="spare"):
        dnas.search(Unused(), (X, y), (X, y), method="gdas", epochs=1, steps_per_epoch=1,
                    batch_size=8, device="cpu")
