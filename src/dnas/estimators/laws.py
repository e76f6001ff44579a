"""The closed-form laws of the data that start DARTSRegressor's discrete search.

Five families are solved directly from the data, each by least squares: the power law
(:mod:`dnas.estimators.monomial`), a power law times factors of one simple term
(:mod:`dnas.estimators.factored`), a sum of terms of one or two inputs
(:mod:`dnas.estimators.additive`), a saturating law ``c/(1 + g)``
(:mod:`dnas.estimators.saturating`), and — where none of these is exact — a sum of terms under
an inverse transformation, ``√(x1² + x2²)``, ``x1^x2 = exp(x2·ln x1)``
(:mod:`dnas.estimators.transformed`). Each becomes an
equation of the graph being searched — one more start of the discrete search, compared with the
others by the same criterion. A law that is exact (its own least-squares error at round-off, as
only noise-free data of that very form give) also sets the first graph size to search, and when
its equation refits exactly the relaxed search of that size is skipped. On noisy data no law is
exact; a power law, factored or saturating law — few constants, no flexible sum — whose residuals
are noise (:mod:`dnas.estimators.noise`) counts as exact to the noise, with the same two uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dnas.arch.architecture import Architecture
from dnas.estimators.additive import AdditiveLaw, additive_law, additive_start
from dnas.estimators.factored import FactoredLaw, factored_law, factored_start, polished
from dnas.estimators.monomial import ROUNDOFF, power_law_start
from dnas.estimators.noise import is_noise
from dnas.estimators.saturating import SaturatingLaw, saturating_law, saturating_start
from dnas.estimators.transformed import TransformedLaw, transformed_law, transformed_start
from dnas.spaces.expression.network import NODE_OPS, ExpressionNetwork

#: a law whose own least-squares error is below this fraction of ``var(y)`` is exact. Far below
#: the fits' round-off floor: a flexible sum that only approximates the law (a Taylor-like
#: polynomial of ``sin x²``) reaches 1e-13, the law itself 1e-30
EXACT_LAW = ROUNDOFF

Start = tuple[Architecture, tuple[bool, ...], dict[Any, float]]


class DataLaws:
    """The laws of ``(X, y)``, solved once per fit; ``max_nodes`` bounds the additive law's
    terms (:func:`~dnas.estimators.additive.nodes_needed`), ``node_ops`` says whether its terms
    may be products."""

    def __init__(self, X: np.ndarray, y: np.ndarray, primitives: tuple[str, ...],
                 max_nodes: int, node_ops: tuple[str, ...] = NODE_OPS) -> None:
        self.X, self.y = X, y
        self.factored: FactoredLaw | None = factored_law(X, y)
        self.tol = EXACT_LAW * max(float(np.var(y)), 1e-300)
        #: the laws of few constants whose residuals are noise: exact to the noise
        self.noise_fits: set[int] = set()
        if self.factored is not None and self.factored.mse > self.tol:
            # not exact: solved on ln|y|, its constants refitted on y for the noise test
            refitted = polished(self.factored, X, y)
            if is_noise(X, y - refitted.predict(X)):
                self.factored = refitted
                self.noise_fits.add(id(refitted))
        self.additive: AdditiveLaw | None = additive_law(X, y, primitives, max_nodes,
                                                         node_ops=node_ops)
        self.saturating: SaturatingLaw | None = saturating_law(X, y)
        self.noise_fits |= {id(law) for law in (self.factored, self.saturating)
                            if law is not None and id(law) not in self.noise_fits
                            and np.isfinite(law.mse) and is_noise(X, y - law.predict(X))}
        self.transformed: TransformedLaw | None = None
        if not any(map(self._exact, (self.factored, self.additive, self.saturating))):
            self.transformed = transformed_law(X, y, primitives, max_nodes, node_ops)

    def _exact(self, law: FactoredLaw | AdditiveLaw | SaturatingLaw | TransformedLaw | None
               ) -> bool:
        """Exact to round-off, or (a factored or saturating law) to the noise."""
        return law is not None and (law.mse <= self.tol or id(law) in self.noise_fits)

    def first_size(self) -> int:
        """The fewest graph nodes that hold an exact law of the data, else 1."""
        sizes = [law.n_nodes for law in (self.factored, self.additive, self.saturating,
                                         self.transformed)
                 if law is not None and self._exact(law)]
        return min(sizes, default=1)

    def starts(self, network: ExpressionNetwork, exact_only: bool = False) -> list[Start]:
        """The laws as equations of ``network`` (``exact_only``: of the exact laws only; the
        additive law is a start only where it is exact)."""
        out: list[Start | None] = []
        plain = self.factored is not None and self.factored.term is None  # a power law
        if not exact_only or (plain and self._exact(self.factored)):
            out.append(power_law_start(network, self.X, self.y))
        if not exact_only or self._exact(self.factored):
            out.append(factored_start(network, self.X, self.y, self.factored))
        if self._exact(self.additive):  # only exact: short of that a sum of many flexible
            # terms (a polynomial for sin(x²)·cos x) fits to 1e-11 and crowds out the law
            out.append(additive_start(network, self.additive))
        if not exact_only or self._exact(self.saturating):
            out.append(saturating_start(network, self.saturating))
        if self._exact(self.transformed):  # only exact, as the additive law
            out.append(transformed_start(network, self.transformed))
        return [s for s in out if s is not None]


__all__ = ["EXACT_LAW", "DataLaws"]
