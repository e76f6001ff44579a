"""Device resolution and the default loss."""

from __future__ import annotations

import pytest
import torch

from dnas.runtime.device import resolve_device
from dnas.runtime.loss import default_loss


def test_auto_and_names():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("bad", ["tpu9", "gpu", ""])
def test_unknown_names_are_refused(bad):
    with pytest.raises(ValueError, match=f"device={bad!r} must be a device name"):
        resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")


def test_default_loss_picks_by_target_kind():
    logits, labels = torch.randn(4, 3), torch.tensor([0, 2, 1, 0])
    assert torch.equal(default_loss(logits, labels),
                       torch.nn.functional.cross_entropy(logits, labels))
    assert torch.equal(default_loss((logits, None), labels), default_loss(logits, labels))
    out, target = torch.randn(4, 1), torch.randn(4)
    assert torch.allclose(default_loss(out, target), ((out[:, 0] - target) ** 2).mean())
    with pytest.raises(ValueError, match=r"output shape \(4, 2\) does not match target"):
        default_loss(torch.randn(4, 2), target)


@pytest.mark.parametrize(
    "device, needle",
    [
        ("meta", "device='meta' must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ("cpu:1", "there is one CPU device"),
        ("blah", "device='blah' must be a device name"),
        (7, "device=7 must be a device name"),
    ],
)
def test_devices_that_cannot_compute_are_refused(device, needle):
    with pytest.raises(ValueError) as err:
        resolve_device(device)
    assert needle in str(err.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_index_beyond_the_machine():
    n = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"index below {n}"):
        resolve_device(f"cuda:{n}")
