"""Deploying a found architecture: :func:`export` writes a fixed (retrained) model as TorchScript
or ONNX with its input shape recorded, checked against PyTorch; :func:`load_exported` runs such a
file again (TorchScript through torch, ONNX through onnxruntime).

Examples
--------
>>> import dnas                                                    # doctest: +SKIP
>>> model = dnas.spaces.darts.eval_network(arch, C=16, layers=8, num_classes=10)
>>> report = dnas.export(model, "model.onnx", example_input=torch.randn(8, 3, 32, 32))
>>> report.max_abs_diff                                           # <= 1e-4
>>> dnas.deploy.load_exported("model.onnx")(x)                    # run it with onnxruntime
"""

from dnas.deploy.checks import refuse_search_network
from dnas.deploy.exporting import FORMATS, ExportReport, export
from dnas.deploy.runners import ExportedModel, load_exported

__all__ = [
    "FORMATS",
    "ExportReport",
    "ExportedModel",
    "export",
    "load_exported",
    "refuse_search_network",
]
