"""dnas: differentiable neural architecture search (DARTS and its family) for PyTorch.

The three axes: *what* may be searched (:class:`LayerChoice`, :class:`InputChoice`,
:class:`ValueChoice` inside the searchable layers of :mod:`dnas.nn`, :class:`Repeat`), *how* a
choice becomes differentiable (``method=``: :func:`methods`), and *how* α and w are optimised
(:func:`search`, :func:`architecture_gradient`). The result is an :class:`Architecture`, and
:func:`fix` builds the discrete model from it.
"""

from dnas import cost, nn  # noqa: F401  (dnas.nn.Conv2d, dnas.cost.CostModel after import dnas)
from dnas.arch import Architecture, derive, fix
from dnas.bilevel import PRESETS, Callback, SearchConfig, Searcher, SearchResult, search
from dnas.deploy import export
from dnas.monitor import TensorBoard
from dnas.optim import architecture_gradient
from dnas.relaxations import Relaxation, methods, relax
from dnas.space import (
    InputChoice,
    LayerChoice,
    Repeat,
    ValueChoice,
    arch_parameters,
    resample,
    summary,
    weight_parameters,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    # the estimator pulls in scikit-learn and SymPy: import it only when asked for
    if name == "DARTSRegressor":
        from dnas.estimators import DARTSRegressor

        return DARTSRegressor
    raise AttributeError(f"module 'dnas' has no attribute {name!r}")


__all__ = [
    "PRESETS",
    "Architecture",
    "Callback",
    "DARTSRegressor",
    "InputChoice",
    "LayerChoice",
    "Relaxation",
    "Repeat",
    "SearchConfig",
    "SearchResult",
    "Searcher",
    "TensorBoard",
    "ValueChoice",
    "arch_parameters",
    "architecture_gradient",
    "derive",
    "export",
    "fix",
    "methods",
    "relax",
    "resample",
    "search",
    "summary",
    "weight_parameters",
]
