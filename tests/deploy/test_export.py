"""dnas.export: TorchScript and ONNX of fixed models, checked against PyTorch; refusals."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import torch
from torch import nn

import dnas
from dnas.deploy import load_exported
from dnas.spaces import darts
from dnas.train import retrain

needs_onnx = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="needs the onnx extra (onnx, onnxscript, onnxruntime)",
)


def retrained_darts(dim: int, in_channels: int, size: tuple[int, ...], classes: int = 3):
    """A tiny DARTS_V2 network trained for one epoch (BatchNorm statistics no longer initial)."""
    torch.manual_seed(0)
    model = darts.eval_network(darts.genotype("DARTS_V2"), C=2, layers=3, num_classes=classes,
                               auxiliary=False, dim=dim, in_channels=in_channels)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(24, in_channels, *size, generator=g)
    y = torch.randint(0, classes, (24,), generator=g)
    retrain(model, (X[:16], y[:16]), (X[16:], y[16:]), epochs=1, batch_size=8, cutout=0,
            crop_padding=0, flip=False, device="cpu", progress=False)
    return model.eval(), X


def _agrees(model, path, x):
    exported = load_exported(path)
    with torch.no_grad():
        expected = model.eval()(x)
    got = exported(x)
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) <= 1e-4
    return exported


@pytest.mark.parametrize("fmt", ["torchscript", pytest.param("onnx", marks=needs_onnx)])
@pytest.mark.parametrize("dim, size", [(2, (12, 12)), (1, (40,))])
def test_retrained_darts_models(tmp_path, fmt, dim, size):
    model, X = retrained_darts(dim, 3 if dim == 2 else 1, size)
    suffix = ".onnx" if fmt == "onnx" else ".pt"
    report = dnas.export(model, tmp_path / f"m{suffix}", example_input=X[:4],
                         metadata={"class_names": ["a", "b", "c"]})
    assert report.format == fmt and report.path.is_file()
    assert report.input_shape == (None, *X.shape[1:])
    assert report.max_abs_diff is not None and report.max_abs_diff <= 1e-4
    assert set(report.checked_batches) == {4, 1, 3}
    exported = _agrees(model, report.path, X[5:12])  # a batch size never seen
    assert exported.format == fmt
    assert exported.input_shape == (None, *X.shape[1:])
    assert exported.metadata["class_names"] == ["a", "b", "c"]
    assert model.training is False and next(model.parameters()).device.type == "cpu"
    assert [p.name for p in tmp_path.iterdir()] == [f"m{suffix}"]  # no temporary files


@pytest.mark.filterwarnings("error::torch.jit.TracerWarning")  # the trace is exact, not a guess
def test_tabular_darts_model_and_training_mode_is_restored(tmp_path):
    torch.manual_seed(0)
    model = darts.eval_network(darts.genotype("DARTS_V2"), C=2, layers=3, num_classes=2,
                               auxiliary=False, dim=1, in_channels=7)
    model.train()
    report = dnas.export(model, tmp_path / "tab.pt", input_shape=(7, 1))
    assert report.input_shape == (None, 7, 1) and report.max_abs_diff <= 1e-4
    assert model.training  # the caller's model is untouched (a copy was exported)
    _agrees(model, report.path, torch.randn(5, 7, 1))


class UserNet(nn.Module):
    """A user's search space with both kinds of choice."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 8)
        self.b = nn.Linear(6, 8)
        self.act = dnas.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh(), "gelu": nn.GELU()},
                                    label="act")
        self.pick = dnas.InputChoice(2, 1, label="input")
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.act(self.pick([self.a(x), self.b(x)])))


@pytest.mark.parametrize("fmt", ["torchscript", pytest.param("onnx", marks=needs_onnx)])
def test_fixed_user_model(tmp_path, fmt):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 6, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    result = dnas.search(UserNet(), (X[:32], y[:32]), (X[32:], y[32:]), epochs=1,
                         batch_size=16, seed=0, device="cpu", progress=False)
    fixed = dnas.fix(result.model, result.architecture)
    report = dnas.export(fixed, tmp_path / "user", format=fmt, example_input=X[:1])
    assert report.input_shape == (None, 6) and report.max_abs_diff <= 1e-4
    _agrees(fixed, report.path, X[:9])
    # the search model itself is refused, with the way out
    with pytest.raises(ValueError, match=r"still holds 2 choice label\(s\) \(act, input\): it is "
                                         r"a search network.*dnas.fix"):
        dnas.export(result.model, tmp_path / "search.pt", example_input=X[:2])
    assert not (tmp_path / "search.pt").exists()


def test_darts_search_network_is_refused(tmp_path):
    net = darts.search_network(C=2, layers=3, num_classes=2, dim=1, in_channels=1)
    with pytest.raises(ValueError, match="it is a search network.*eval_network"):
        dnas.export(net, tmp_path / "s.onnx", example_input=torch.randn(2, 1, 16))


class BranchOnData(nn.Module):
    """Data-dependent control flow: a trace keeps the branch of its example."""

    def forward(self, x):
        return x * 2 if float(x.sum()) > 0 else -x


def test_an_export_that_differs_writes_nothing(tmp_path):
    x = torch.ones(2, 4)
    with pytest.warns(torch.jit.TracerWarning), pytest.raises(
        ValueError, match=r"differs from PyTorch by up to .* \(> atol=0.0001\).*nothing was written"
    ):
        dnas.export(BranchOnData(), tmp_path / "b.pt", example_input=x)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "b.pt").write_bytes(b"old")  # an earlier file stays as it was
    with pytest.warns(torch.jit.TracerWarning), pytest.raises(ValueError):
        dnas.export(BranchOnData(), tmp_path / "b.pt", example_input=x)
    assert (tmp_path / "b.pt").read_bytes() == b"old"


def test_bad_arguments(tmp_path):
    model = nn.Linear(4, 2)
    with pytest.raises(ValueError, match="format='tflite' is not one of torchscript, onnx"):
        dnas.export(model, tmp_path / "m", format="tflite", input_shape=(4,))
    with pytest.raises(ValueError, match="suffix of .* does not say which format"):
        dnas.export(model, tmp_path / "m.bin", input_shape=(4,))
    with pytest.raises(ValueError, match="needs example_input .* or input_shape"):
        dnas.export(model, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"input_shape=\(0,\) must be positive integers"):
        dnas.export(model, tmp_path / "m.pt", input_shape=(0,))
    with pytest.raises(TypeError, match="example_input must be one tensor"):
        dnas.export(model, tmp_path / "m.pt", example_input=[torch.randn(2, 4)])
    with pytest.raises(ValueError, match=r"cannot take an input of shape \(2, 5\)"):
        dnas.export(model, tmp_path / "m.pt", input_shape=(5,))
    with pytest.raises(ValueError, match="metadata key 'input_shape' is dnas' own"):
        dnas.export(model, tmp_path / "m.pt", input_shape=(4,), metadata={"input_shape": 1})
    with pytest.raises(ValueError, match="must be JSON-serialisable"):
        dnas.export(model, tmp_path / "m.pt", input_shape=(4,), metadata={"f": object()})
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        dnas.export("model", tmp_path / "m.pt", input_shape=(4,))
    with pytest.raises(TypeError, match=r"^path must be a file path .* got Tensor \(the order "
                                        r"is export\(model, path, format, example_input\)\)"):
        dnas.export(model, torch.randn(2, 4), tmp_path / "m.pt")  # arguments swapped
    assert list(tmp_path.iterdir()) == []


def test_onnx_verification_without_onnxruntime_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(ImportError, match=r"needs onnxruntime: pip install 'dnas\[onnx\]'"):
        dnas.export(nn.Linear(4, 2), tmp_path / "m.onnx", input_shape=(4,))


def test_tuple_outputs_and_torchscript_metadata_file(tmp_path):
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)

        def forward(self, x):
            y = self.lin(x)
            return y, y.softmax(-1)

    report = dnas.export(Two(), tmp_path / "two.pt", input_shape=(4,))
    exported = load_exported(report.path)
    assert exported.metadata["output_names"] == ["output_0", "output_1"]
    logits, probs = exported(torch.randn(3, 4))
    assert logits.shape == (3, 3)
    assert torch.allclose(probs.sum(-1), torch.ones(3))
    # the metadata is plain JSON inside the TorchScript archive
    import zipfile

    with zipfile.ZipFile(report.path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("extra/dnas.json"))
        assert json.loads(zf.read(name))["input_shape"] == [None, 4]


def test_load_exported_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_exported(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="cannot load exported model"):
        load_exported(tmp_path / "junk.pt")
