"""DARTSRegressor: equation discovery by differentiable architecture search (scikit-learn API).

A drop-in for AutoRA's DARTS theorist (``autora.theorist.darts.DARTSRegressor``): the same
parameter names with the same meanings, the same primitive names, the same ``fit`` /
``set_params(max_epochs=0, ...)`` refit idiom. Underneath, it is dnas: the expression space
(:class:`~dnas.spaces.expression.ExpressionNetwork`) searched by :func:`dnas.search` with any
relaxation of the core (``method=``), then the derived equation's constants fitted by
Levenberg-Marquardt with exact Jacobians and, optionally, its structure refined label by label on
the Bayesian information criterion (:mod:`dnas.estimators.fitting`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import sympy
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from dnas.arch.architecture import Architecture
from dnas.bilevel.loop import Searcher
from dnas.estimators import equation as eq
from dnas.estimators.compose import composed_starts
from dnas.estimators.fitting import (
    Candidate,
    Evaluator,
    Ledger,
    carry_over,
    complexity,
    materialize,
    rank,
    refine,
    simplify,
    snap,
)
from dnas.estimators.laws import DataLaws
from dnas.estimators.naming import decade_scale, safe_symbols
from dnas.estimators.noise import NOISE_Z, residual_z
from dnas.estimators.options import OUTPUT_TYPES, check_options, search_config
from dnas.estimators.selection import (
    StableArchitecture,
    dense_architectures,
    edge_costs,
    loss_for,
    ranked_candidates,
)
from dnas.runtime.checks import ParameterError, check_choice, check_int
from dnas.runtime.finite import NonFiniteError
from dnas.spaces.expression.network import NODE_OPS, ExpressionNetwork
from dnas.spaces.expression.primitives import DEFAULT_PRIMITIVES

#: largest graph the default growth tries
MAX_NODES = 3
#: how much a larger graph must lower the BIC to be kept (10: "very strong" evidence)
GROWTH_MARGIN = 10.0
#: a fit within this factor of the criterion's floor of the MSE (1e-10 of var(y)) is exact
#: enough to end the discrete search of a graph size early (its other starts cannot do better)
EXACT = 10.0
#: a fit whose MSE is below this fraction of var(y) is exact: the graph stops growing. Far
#: below the criterion's floor: a flexible stand-in of a smaller graph fits smooth laws on a
#: small box to 1e-10..1e-13 (``(0.82·x2 - 0.16)^5.06`` and a cosine for ``sin(x2²)`` on [0, 1]:
#: 4e-10), the law itself to round-off (1e-25 and below)
EXACT_FIT = 1e-16
#: ``equation_`` agrees with ``predict`` on the training inputs to this fraction of the
#: predictions' standard deviation (its constants are rounded only as far as that holds)
EQUATION_RTOL = 1e-3
#: architectures drawn from the searched α as extra starts of the discrete search
N_SAMPLED = 0
#: the smaller graph's best with one edge nested in a primitive: the best this many are starts
N_COMPOSED = 3
#: short constant fits the discrete search of one graph size may make (its starts and their
#: refinements); bounds the worst-case fit time on large graphs of many inputs
QUICK_FITS = 2500
#: the short fits of a look-ahead (a graph size after one whose equation fits to the noise, where
#: only a simpler equation can win): its starts, their refinements and the compositions it builds
LOOKAHEAD_FITS = QUICK_FITS // 4
#: work (edge evaluations of the constant fits: :class:`~dnas.estimators.fitting.Ledger`) one fit
#: may spend over all its graph sizes; once spent the searches decide among what they have found
#: and the graph stops growing. Bounds the worst case (a law outside the space, searched at every
#: size): about 21,000 units per CPU second here, so ~50 s of fits plus ~15 s of relaxed search
#: and display on 200 rows (3.2 million unbounded took 149 s on arcsin(x1/(x2·x3)), found
#: nowhere). A law found at a smaller size is kept: the larger sizes' searches only decide
#: whether anything beats it clearly (at 1 % noise the power laws spend 1.26-1.43 million
#: unbounded, all of it on the sizes that do not)
WORK = 1_000_000
#: once the work budget is spent: the equations found that still get a careful fit, and the work
#: those fits, the last simplification and the snapping may spend (about 5 s)
AFTER_WORK = 3
GRACE = WORK // 10
#: careful constant fits the last simplification of one graph size may make (each is six
#: Levenberg-Marquardt starts: on a three-node graph of three inputs, 0.2 s; unbounded, the pass
#: took a minute on the equations that are no law)
SIMPLIFY_FITS = 80


def _labels(name: str, labels: Any) -> list[str]:
    """``labels`` as a list of text names; a string (a list of its letters) is refused."""
    if isinstance(labels, str) or not isinstance(labels, Iterable):
        raise ParameterError(f"{name}={labels!r} must be a list of names (one per column)")
    names = list(labels)
    if not all(isinstance(n, str) for n in names):
        raise ParameterError(f"{name}={names!r} must be a list of names (text)")
    return names


def _listed(outputs: tuple[bool, ...] | None) -> list[bool] | None:
    return None if outputs is None else list(outputs)


def _outputs(listed: list[bool] | None) -> tuple[bool, ...] | None:
    return None if listed is None else tuple(bool(v) for v in listed)


class DARTSRegressor(RegressorMixin, BaseEstimator):
    """Find the equation behind ``y = f(X)`` by differentiable architecture search.

    Parameters
    ----------
    batch_size : int or None, default None
        Mini-batch size of the search; ``None`` uses all rows (full batch, AutoRA's default is 64).
    num_graph_nodes : int or None, default None
        Number of intermediate nodes ``k_j`` of the graph (AutoRA's meaning). ``None`` lets the
        data choose: search 1 node, then 2, then 3, growing only while the criterion (BIC)
        improves by more than ``GROWTH_MARGIN`` and stopping as soon as a fit is exact; on
        noisy data, once what a fit leaves is noise (:mod:`dnas.estimators.noise`), a larger
        graph could win only by a simpler equation, so the next sizes are only looked ahead to
        (a discrete search from the laws, then from compositions of the smaller graph's
        equation, within a quarter of a search's short fits; no relaxed search);
        ``search_report_`` shows what each size gave. Data that are exactly a law solved in
        closed form — a power law ``c·Π x_i^p_i``, one times factors of a simple term
        (``x1/√(1 - x2²/x3²)``, ``exp(-x1²/2)``, ``x1·x2·sin x3``), a sum of one-input terms
        (``x1⁴ - x1³ + x2²/2 - x2``), a saturating law ``c/(1 + g)`` (a logistic, Luce's rule)
        — start at the size it needs, unsearched
        (:mod:`dnas.estimators.laws`).
    output_type : {"real", "sigmoid", "probability", "probability_sample"}, default "real"
        ``real``: identity output, squared error. The others pass the graph's output through a
        logistic function and fit it by squared error (as AutoRA). ``probability_distribution``
        (a softmax over several outputs) is refused: this estimator fits one output.
    darts_type : {"original", "fair"}, default "original"
        DARTS' softmax or Fair DARTS' sigmoids; maps to ``method="darts"`` / ``"fair-darts"``.
    primitives : sequence of str
        Candidate operations of every edge (see :func:`dnas.spaces.expression.primitive_names`).
    param_updates_per_epoch : int, default 100
        Coefficient (w) updates per epoch.
    param_updates_for_sampled_model : int, default 100
        Evaluations per start of the Levenberg-Marquardt fit of the derived equation's
        coefficients (six starts).
    param_learning_rate_max, param_learning_rate_min : float, default 0.025, 0.01
        SGD learning rate for the coefficients, cosine-annealed from max to min.
    param_momentum, param_weight_decay : float, default 0.9, 3e-4
        SGD momentum and weight decay for the coefficients.
    arch_updates_per_epoch : int, default 100
        Architecture (α) updates per epoch (at most one per coefficient update).
    arch_learning_rate_max : float, default 0.03
        Adam learning rate for α.
    arch_weight_decay : float, default 1e-4
        Weight decay on α.
    arch_weight_decay_df, arch_weight_decay_base : float, default 3e-4, 0.0
        Extra decay on each candidate's α: ``base + df · (its number of coefficients)``, which
        favours candidates with fewer degrees of freedom.
    arch_momentum : float, default 0.9
        First-moment coefficient (β₁) of Adam for α.
    fair_darts_loss_weight : float, default 1
        Weight of Fair DARTS' zero-one loss (``darts_type="fair"``).
    max_epochs : int, default 10
        Largest number of search epochs; ``0`` searches nothing and keeps the architecture
        searched before (see ``warm_start``).
    grad_clip : float, default 5
        Gradient-norm clip of the coefficient updates.
    train_classifier_coefficients : bool, default False
        Learn a coefficient per node in the output ``y = Σ c_j k_j + b`` (else ``c_j = 1``).
    train_classifier_bias : bool, default True
        Learn the output bias ``b`` (AutoRA's default is False).
    sampling_strategy : {"max", "sample"}, default "max"
        Derive the equation from the most likely candidate of every choice, or draw it from the
        softmax of α. ``max`` is deterministic: it gives back the same architecture.
    method : str or None, default None
        Any relaxation of :func:`dnas.methods` (overrides ``darts_type``).
    node_ops : sequence of {"add", "mul", "div"}, default ("add", "mul", "div")
        How a node may combine its two operands; ``("add",)`` is AutoRA's graph.
    refine : bool, default True
        After a ``max`` derivation, change the equation one choice at a time while that lowers
        the BIC (with ``sampling_strategy="sample"`` the drawn equation is kept as drawn).
    patience : int or None, default 1
        Stop the search once the derived architecture has not changed for this many epochs
        (``None``: always run ``max_epochs``). Candidates whose probabilities are within 1% of
        each other count as a tie, not a change: the derivation picks between them by chance, and
        the refinement decides on the data.
    tol : float, default 1e-3
        Also stop once the architecture is unchanged over an epoch in which the training loss
        improved by less than this fraction.
    random_state : int, RandomState or None, default None
        Seeds the search and the multi-start constant fits.
    warm_start : bool or "auto", default "auto"
        ``True``: continue from the search state of the previous ``fit``. ``False``: start anew.
        ``"auto"``: continue only when ``max_epochs == 0`` (AutoRA's refit idiom), else anew.
    device : str, default "cpu"
        Torch device of the search ("auto" picks CUDA when available).

    Attributes
    ----------
    equation_ : sympy.Expr
        The discovered equation in ``symbols_``, simplified, its constants rounded to 4
        significant digits or as many more as keep it within ``EQUATION_RTOL`` (1e-3) of the
        predictions' standard deviation of ``predict`` on the training inputs.
    architecture_ : dnas.Architecture
        The chosen candidate of every choice.
    network_ : ExpressionNetwork
        The searched (relaxed) network, kept for refits.
    model_ : ExpressionNetwork
        The fixed network of the equation, with its fitted coefficients.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names (pandas).
    history_ : list of dict
        The search's per-epoch metrics.
    n_epochs_ : int
        Epochs searched for the chosen graph size in the last ``fit``.
    symbols_ : list of str
        The equation's symbol for each feature: its name where that reads back as a SymPy symbol
        (and is not ``y``, ``k1``, ...), else ``x<column number>``; ``model_repr`` lists the
        renamed ones.
    x_scale_ : ndarray, y_scale_ : float
        Powers of ten the inputs and the target were divided by for the search (1 unless a
        magnitude is outside [1e-4, 1e4]); ``equation_`` and ``predict`` are in the original
        units.
    search_report_ : list of dict
        One entry per graph size tried: ``n_nodes``, the best ``equation`` found with that many
        nodes, its ``criterion`` (BIC, lower is better) and ``mse``, ``residual_z`` (how far its
        residuals are from noise: below 2 they are noise, :func:`dnas.estimators.noise.
        residual_z`), search ``epochs`` (0: the relaxed search was skipped — an exact law, or a
        look-ahead), constant ``fits`` of the final stage, ``seconds``, and whether it was
        ``kept`` (it improved on the smaller graph by more than the margin).
    """

    def __init__(
        self,
        batch_size: int | None = None,
        num_graph_nodes: int | None = None,
        output_type: str = "real",
        darts_type: str = "original",
        primitives: Sequence[str] = DEFAULT_PRIMITIVES,
        param_updates_per_epoch: int = 100,
        param_updates_for_sampled_model: int = 100,
        param_learning_rate_max: float = 2.5e-2,
        param_learning_rate_min: float = 0.01,
        param_momentum: float = 0.9,
        param_weight_decay: float = 3e-4,
        arch_updates_per_epoch: int = 100,
        arch_learning_rate_max: float = 3e-2,
        arch_weight_decay: float = 1e-4,
        arch_weight_decay_df: float = 3e-4,
        arch_weight_decay_base: float = 0.0,
        arch_momentum: float = 0.9,
        fair_darts_loss_weight: float = 1,
        max_epochs: int = 10,
        grad_clip: float = 5,
        train_classifier_coefficients: bool = False,
        train_classifier_bias: bool = True,
        sampling_strategy: str = "max",
        method: str | None = None,
        node_ops: Sequence[str] = NODE_OPS,
        refine: bool = True,
        patience: int | None = 1,
        tol: float = 1e-3,
        random_state: Any = None,
        warm_start: bool | str = "auto",
        device: str = "cpu",
    ) -> None:
        self.batch_size = batch_size
        self.num_graph_nodes = num_graph_nodes
        self.output_type = output_type
        self.darts_type = darts_type
        self.primitives = primitives
        self.param_updates_per_epoch = param_updates_per_epoch
        self.param_updates_for_sampled_model = param_updates_for_sampled_model
        self.param_learning_rate_max = param_learning_rate_max
        self.param_learning_rate_min = param_learning_rate_min
        self.param_momentum = param_momentum
        self.param_weight_decay = param_weight_decay
        self.arch_updates_per_epoch = arch_updates_per_epoch
        self.arch_learning_rate_max = arch_learning_rate_max
        self.arch_weight_decay = arch_weight_decay
        self.arch_weight_decay_df = arch_weight_decay_df
        self.arch_weight_decay_base = arch_weight_decay_base
        self.arch_momentum = arch_momentum
        self.fair_darts_loss_weight = fair_darts_loss_weight
        self.max_epochs = max_epochs
        self.grad_clip = grad_clip
        self.train_classifier_coefficients = train_classifier_coefficients
        self.train_classifier_bias = train_classifier_bias
        self.sampling_strategy = sampling_strategy
        self.method = method
        self.node_ops = node_ops
        self.refine = refine
        self.patience = patience
        self.tol = tol
        self.random_state = random_state
        self.warm_start = warm_start
        self.device = device

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> DARTSRegressor:
        """Search the equation behind ``y = f(X)`` and fit its constants.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite inputs; a pandas DataFrame's column names become the equation's symbols.
        y : array-like of shape (n_samples,)
            Finite targets (in [0, 1] for the sigmoid output types).

        Returns
        -------
        self

        Notes
        -----
        NumPy's linear algebra runs on one thread during the fit: its solves are of a few hundred
        rows, where more threads only wait on each other (on two busy cores, several times
        slower).
        """
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y)

    def _fit(self, X: Any, y: Any) -> DARTSRegressor:
        opts = check_options(self)
        X_np, y_np = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if y_np.ndim == 2:
            y_np = y_np[:, 0]
        if y_np.dtype.kind not in "fiu":  # text: sklearn converts objects only
            try:
                y_np = y_np.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise ValueError(f"y must hold numbers: {err}") from None
        assert_all_finite(y_np, input_name="y")  # objects such as None become NaN unchecked
        if X_np.shape[0] < 2:
            raise ValueError(
                f"DARTSRegressor needs at least 2 samples, got n_samples={X_np.shape[0]}"
            )
        if opts["output_type"] != "real" and (y_np.min() < 0 or y_np.max() > 1):
            raise ValueError(
                f"output_type={self.output_type!r} fits values in [0, 1], but y ranges over "
                f"[{y_np.min():.4g}, {y_np.max():.4g}]"
            )
        names = getattr(self, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else [
            f"x{i + 1}" for i in range(X_np.shape[1])]
        self.symbols_ = safe_symbols(names)
        # extreme magnitudes are searched in rescaled units and the equation scaled back
        self.x_scale_ = np.array([decade_scale(col) for col in X_np.T])
        self.y_scale_ = decade_scale(y_np) if opts["output_type"] == "real" else 1.0
        X_fit, y_fit = X_np / self.x_scale_, y_np / self.y_scale_
        rng = check_random_state(self.random_state)
        loss_fn = loss_for(opts["output_type"])
        laws = (DataLaws(X_fit, y_fit, opts["primitives"], MAX_NODES, opts["node_ops"])
                if opts["output_type"] == "real" else None)
        ledger = Ledger(WORK)
        data = (X_fit, y_fit, loss_fn, laws, ledger)
        network = self._network_to_continue(opts, X_np.shape[1])
        if network is not None:  # warm start / AutoRA's refit idiom: the kept network's size
            sizes = [network.n_nodes]
        elif self.num_graph_nodes is not None:
            sizes = [int(self.num_graph_nodes)]
        else:
            # an exact closed-form law of m nodes (dnas.estimators.laws): smaller graphs cannot hold
            # it, so they are not searched
            first = laws.first_size() if laws is not None else 1
            sizes = list(range(min(first, MAX_NODES), MAX_NODES + 1))
        report: list[dict] = []
        chosen: tuple[ExpressionNetwork, Candidate, list, int] | None = None
        lookahead = False
        for n_nodes in sizes:
            if (ledger.reached or ledger.exhausted) and chosen is not None:  # spent: no growing
                break
            start, work = time.perf_counter(), ledger.spent
            seed = int(rng.randint(0, 2**31 - 1))
            net, best, history, epochs, evaluator = self._fit_size(
                opts, data, n_nodes, seed, network, None if chosen is None else chosen[:2],
                lookahead)
            better = chosen is None or best.bic < chosen[1].bic - GROWTH_MARGIN
            z = self._residual_z(evaluator, best)
            report.append({
                "n_nodes": n_nodes, "equation": str(self._equation_of(net, best)),
                "criterion": best.bic, "mse": best.mse, "residual_z": z, "epochs": epochs,
                "fits": evaluator.fits, "work": ledger.spent - work,
                "seconds": time.perf_counter() - start,
                "kept": better,
            })
            if not better:  # no meaningful gain from one more node: stop growing
                break
            chosen = (net, best, history, epochs)
            if best.mse <= EXACT_FIT * float(np.var(y_fit)):  # exact: nothing to grow for
                break
            # what is left is noise: a larger graph can win only by a simpler equation, not by
            # a closer fit, so it is only looked ahead to (its laws and compositions of the
            # smaller graph's equation: _look_ahead_starts), not searched
            lookahead = z < NOISE_Z
            if lookahead and not (self.refine and opts["sampling_strategy"] == "max"):
                break  # without the discrete search from the laws there is nothing to look at
        assert chosen is not None
        self.network_, best, self.history_, self.n_epochs_ = chosen
        self._searched_network = self.network_
        self.search_report_ = report
        self._set_result(best, X_np)
        return self

    @staticmethod
    def _residual_z(evaluate: Evaluator, cand: Candidate) -> float:
        """How far the residuals of ``cand`` (fitted by ``evaluate``) are from noise
        (:func:`dnas.estimators.noise.residual_z`; ``inf`` where undefined: then they are not
        taken for noise)."""
        z = residual_z(evaluate.X, evaluate.residual(cand))
        return z if math.isfinite(z) else math.inf

    def _fit_size(self, opts: dict, data: tuple, n_nodes: int, seed: int,
                  network: ExpressionNetwork | None, smaller: tuple | None,
                  lookahead: bool = False):
        """Search one graph size and select its equation; returns (network, best candidate,
        history, epochs searched, final evaluator)."""
        X_np, y_np, loss_fn, laws, ledger = data
        gen = torch.Generator().manual_seed(seed)
        device = opts["device"]
        if network is None:
            torch_state = torch.random.get_rng_state()
            torch.manual_seed(seed)  # coefficient and α initialisation
            try:
                network = ExpressionNetwork(
                    X_np.shape[1], n_nodes, opts["primitives"], opts["node_ops"],
                    train_coefficients=bool(self.train_classifier_coefficients),
                    train_bias=bool(self.train_classifier_bias),
                ).to(device=device, dtype=torch.float64)
            finally:
                torch.random.set_rng_state(torch_state)
            history: list = []
        else:
            history = list(getattr(self, "history_", []))
        epochs = 0
        if (self.max_epochs > 0 and not lookahead
                and not self._exact_law(network, X_np, y_np, seed, laws, ledger)):
            Xt = torch.tensor(X_np, dtype=torch.float64, device=device)
            yt = torch.tensor(y_np, dtype=torch.float64, device=device)
            config = search_config(self, opts, n_rows=X_np.shape[0], seed=seed)
            stop = StableArchitecture(network, self.patience, self.tol)
            searcher = Searcher(network, (Xt, yt), (Xt, yt), config, loss_fn=loss_fn,
                                callbacks=[stop])
            before = {k: v.clone() for k, v in network.state_dict().items()}
            try:
                searcher.run()
            except NonFiniteError as err:
                # the relaxed mixture overflowed (e.g. nested exponentials of large inputs): the
                # discrete search below still compares every equation by its own finite fit,
                # from the α before the search
                network.load_state_dict(before)
                warnings.warn(f"the relaxed search of the {n_nodes}-node graph stopped ({err}); "
                              "its equation is chosen by the discrete search from the initial α",
                              RuntimeWarning, stacklevel=3)
            history += searcher.history
            epochs = len(searcher.history)

        quick = Evaluator(network, X_np, y_np, self.output_type, max_iter=15, n_starts=2,
                          generator=gen, budget=LOOKAHEAD_FITS if lookahead else QUICK_FITS,
                          ledger=ledger)
        use_bias = bool(self.train_classifier_bias)
        final = Evaluator(network, X_np, y_np, self.output_type,
                          max_iter=self.param_updates_for_sampled_model, n_starts=6, generator=gen,
                          ledger=ledger)
        kept = getattr(self, "searched_architecture_", None) if epochs == 0 else None
        if opts["sampling_strategy"] == "sample":
            best = final(network.sample_architecture(gen), use_bias)
        elif kept is not None and network is getattr(self, "_searched_network", None):
            # AutoRA's refit idiom (max_epochs=0): keep the architecture, refit its constants
            best = snap(final, final(Architecture(dict(kept)), bool(kept.meta["output_bias"]),
                                     None, _outputs(kept.meta.get("outputs"))))
        else:
            best = self._select(network, final, quick, use_bias, gen, smaller, laws, lookahead)
            self.searched_architecture_ = Architecture(
                dict(best.architecture),
                meta={"output_bias": best.use_bias, "outputs": _listed(best.outputs)},
            )
        return network, best, history, epochs, final

    def _exact_law(self, network: ExpressionNetwork, X: np.ndarray, y: np.ndarray,
                   seed: int, laws: DataLaws | None, ledger: Ledger) -> bool:
        """Whether an exact law of the data (:mod:`dnas.estimators.laws`), as an equation of
        ``network``, refits exactly (to the round-off floor, or on noisy data to the noise):
        then the relaxed search cannot find anything better and is skipped."""
        if laws is None or not self.refine or self.sampling_strategy != "max":
            return False
        probe = Evaluator(network, X, y, "real", max_iter=self.param_updates_for_sampled_model,
                          n_starts=2, generator=torch.Generator().manual_seed(seed), ledger=ledger)
        for architecture, outputs, init in laws.starts(network, exact_only=True):
            use_bias = bool(self.train_classifier_bias) and (id(network.out_bias), None) in init
            cand = probe(architecture, use_bias, init, outputs)
            if cand.mse <= EXACT * probe.floor or (
                    laws.noise_fits and self._residual_z(probe, cand) < NOISE_Z):
                return True
        return False

    def _select(self, network: ExpressionNetwork, final: Evaluator, quick: Evaluator,
                use_bias: bool, gen: torch.Generator, smaller: tuple | None,
                laws: DataLaws | None = None, lookahead: bool = False) -> Candidate:
        """The ``max`` rule, refined: derive, search label by label from several starts, decide
        with careful fits, then simplify and snap constants.

        Starts (restarts of the discrete search): the derived architecture, ``N_SAMPLED``
        architectures drawn from the searched α, one dense start per node combination, the
        data's closed-form laws (:mod:`dnas.estimators.laws`; real outputs), the
        best equation of the next smaller graph carried over, and the ``N_COMPOSED`` best
        compositions of it (one edge nested in a primitive through the new node:
        :mod:`dnas.estimators.compose`). The structure search compares many
        equations after a short fit each; the distinct results get the full budget
        (``param_updates_for_sampled_model`` iterations, several starts) and the best of them a
        last simplification pass and the snapping of constants to simple values. The short
        fits are budgeted (``QUICK_FITS`` per graph size): once spent, the remaining starts are
        not refined and the decision is made among the equations found. A look-ahead
        (``lookahead``) has no searched α and fewer starts and fits
        (:meth:`_look_ahead_starts`, ``LOOKAHEAD_FITS``).
        """
        derived = network.derive_architecture()
        if not self.refine:
            return final(derived, use_bias)
        starts = [] if lookahead else [
            quick(a, use_bias) for a in [derived]
            + [network.sample_architecture(gen) for _ in range(N_SAMPLED)]
            + dense_architectures(network)]
        # the data's closed-form laws (dnas.estimators.laws)
        law_starts = []
        for architecture, outputs, init in laws.starts(network) if laws is not None else []:
            bias = use_bias and (id(network.out_bias), None) in init
            law_starts.append(quick(architecture, bias, init, outputs))
        if lookahead:
            ordered: Iterable[Candidate] = self._look_ahead_starts(quick, law_starts, smaller)
        else:
            carried, composed = [], []
            if smaller is not None:
                carried.append(carry_over(quick, *smaller))
                if smaller[0].n_nodes + 1 == network.n_nodes:  # f(s) -> f(g(s)), g(f(s))
                    composed = composed_starts(quick, *smaller)[:N_COMPOSED]
            ordered = sorted(starts + law_starts + carried + composed, key=rank)
        ranked = ranked_candidates(network)
        found: dict[tuple, Candidate] = {}
        for start in ordered:
            if quick.exhausted and found:  # the budget is spent: decide among what was found
                break
            end = refine(quick, start, ranked, bias_choice=use_bias)
            found.setdefault(end.form, end)
            if end.mse <= EXACT * quick.floor:  # exact: the other starts cannot do better
                break
            if (not lookahead and laws is not None and laws.noise_fits
                    and self._residual_z(quick, end) < NOISE_Z):
                # a law fits to the noise and so does this equation: the other starts could
                # only fit the noise
                break
        candidates = list(found.values())
        if quick.ledger is not None and quick.ledger.exhausted:
            # the work budget is spent: careful fits of the best few found, then a last
            # simplification and snapping within a grace (a spurious term fitted to noise goes)
            candidates = sorted(candidates, key=rank)[:AFTER_WORK]
            quick.ledger.grace(GRACE)
        best = min((final(c.architecture, c.use_bias, c.values, c.outputs)
                    for c in candidates), key=rank)
        best = simplify(final, best, edge_costs(network), bias_choice=use_bias,
                        budget=SIMPLIFY_FITS)
        return snap(final, best)

    @staticmethod
    def _look_ahead_starts(quick: Evaluator, law_starts: list[Candidate],
                           smaller: tuple | None) -> Iterator[Candidate]:
        """The starts of a look-ahead, in order, as long as its budget lasts.

        The smaller graph's equation fits to the noise, so only a simpler equation can win
        here, and not its copy carried over (its single changes are the smaller graph's, or
        edges of the new node, hidden and read by none). So: the laws (closed forms of the whole
        data), simplest first, then the compositions of the smaller graph's equation, built
        only when the laws' refinements left budget for them; the copy only when there is
        nothing else."""
        given = False
        for start in sorted(law_starts,
                            key=lambda c: (complexity(c.architecture, len(c.theta)), rank(c))):
            given = True
            yield start
        if smaller is None:
            return
        if smaller[0].n_nodes + 1 == quick.network.n_nodes and not quick.exhausted:
            for start in composed_starts(quick, *smaller)[:N_COMPOSED]:
                given = True
                yield start
        if not given:
            yield carry_over(quick, *smaller)

    def _equation_of(self, network: ExpressionNetwork, cand: Candidate):
        """The equation of one graph size for ``search_report_``: rounded, not simplified
        (SymPy's ``simplify`` of an equation that is no law can take minutes)."""
        return eq.round_constants(self._expression(materialize(network, cand)))

    def _expression(self, model: ExpressionNetwork):
        """The model's equation in the original units (the network's constants unrounded)."""
        symbols = eq.symbols_for(self.symbols_)
        expr = model.sympy(symbols)
        if np.any(self.x_scale_ != 1):
            expr = expr.xreplace({s: s / sympy.Float(float(k)) for s, k in
                                  zip(symbols, self.x_scale_) if k != 1})
        return expr * sympy.Float(self.y_scale_) if self.y_scale_ != 1 else expr

    def _network_to_continue(self, opts: dict, n_features: int) -> ExpressionNetwork | None:
        keep = self.warm_start is True or (self.warm_start == "auto" and self.max_epochs == 0)
        net = getattr(self, "network_", None)
        if not keep or net is None:
            return None
        same = (
            net.n_inputs == n_features
            and (self.num_graph_nodes is None or net.n_nodes == self.num_graph_nodes)
            and net.primitives == opts["primitives"]
            and net.node_ops == opts["node_ops"]
        )
        if not same:
            raise ValueError(
                "cannot continue the previous search: X's number of features, num_graph_nodes, "
                "primitives or node_ops changed since the last fit; set warm_start=False (and "
                "max_epochs > 0) to search anew"
            )
        return net

    def _set_result(self, best: Candidate, X: np.ndarray) -> None:
        self.architecture_ = Architecture(
            dict(best.architecture),
            meta={"output_bias": best.use_bias, "outputs": _listed(best.outputs)},
        )
        self.model_ = materialize(self.network_, best).eval()
        for p in self.model_.parameters():
            p.requires_grad_(False)
        self.train_loss_ = best.mse
        self.bic_ = best.bic
        self.equation_ = self._readable_equation(X)

    def _readable_equation(self, X: np.ndarray):
        """The model's equation with constants rounded to as few significant digits (4, then
        more) as keep it within ``EQUATION_RTOL`` of ``predict`` on the training inputs."""
        expr = self._expression(self.model_)
        pred = self._predict_array(X) / self.y_scale_  # compared in the search's units
        scale = float(np.std(pred)) or float(np.max(np.abs(pred))) or 1.0
        f_args = eq.symbols_for(self.symbols_)
        for digits in (4, 6, 9, 12, None):
            # the output function stays outside the simplification: 1/(1 + exp(5 - 10·x))
            # reads better than SymPy's exp(10·x)/(exp(10·x) + 148.4)
            inner = expr if digits is None else eq.tidy(expr, digits)
            out = eq.output_function(inner, self.output_type)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    f = sympy.lambdify(f_args, out, "numpy")
                    value = np.broadcast_to(np.asarray(f(*X.T), dtype=float),
                                            pred.shape) / self.y_scale_
                except (TypeError, ValueError, NameError, ZeroDivisionError, OverflowError):
                    continue
            if np.all(np.abs(value - pred) <= EQUATION_RTOL * scale):
                return out
        return eq.output_function(expr, self.output_type)

    # ------------------------------------------------------------------ predicting
    def _predict_array(self, X_np: np.ndarray) -> np.ndarray:
        param = next(iter(self.model_.parameters()))
        with torch.no_grad():
            out = self.model_(torch.tensor(X_np / self.x_scale_, dtype=param.dtype,
                                           device=param.device))
            if self.output_type != "real":
                out = torch.sigmoid(out)
        with np.errstate(over="ignore"):
            return out.cpu().numpy() * self.y_scale_

    def predict(self, X: Any) -> np.ndarray:
        """Evaluate the fitted equation on ``X``; shape ``(n_samples,)``."""
        check_is_fitted(self, "model_")
        X_np = validate_data(self, X, reset=False, dtype=np.float64)
        pred = self._predict_array(X_np)
        bad = ~np.isfinite(pred)
        if bad.any():
            warnings.warn(
                f"{int(bad.sum())} of {pred.size} predictions are not finite: the equation "
                f"{self.equation_} overflows on these inputs",
                RuntimeWarning, stacklevel=2,
            )
        return pred

    # ------------------------------------------------------------------ reading the result
    def _input_labels(self) -> list[str]:
        """The symbols of the features, as the network reads them (rescaled ones divided)."""
        return [s if k == 1 else f"({s}/{k:g})" for s, k in zip(self.symbols_, self.x_scale_)]

    def model_repr(
        self,
        input_labels: Sequence[str] | None = None,
        output_labels: Sequence[str] | None = None,
        output_function_label: str = "",
        decimals_to_display: int = 2,
        output_format: str = "console",
    ) -> str:
        """The equation node by node, as AutoRA prints it (``Model:``, ``k1 = ...``, ``y = ...``).

        ``output_format`` is ``"console"`` or ``"latex"``.
        """
        check_is_fitted(self, "model_")
        check_choice("output_format", output_format, ("console", "latex"))
        check_int("decimals_to_display", decimals_to_display, 0)
        labels = (_labels("input_labels", input_labels) if input_labels is not None
                  else self._input_labels())
        if len(labels) != self.n_features_in_:
            raise ValueError(f"input_labels has {len(labels)} names, X has "
                             f"{self.n_features_in_} features")
        if not isinstance(output_function_label, str):
            raise ParameterError(f"output_function_label={output_function_label!r} must be text")
        outs = _labels("output_labels", output_labels) if output_labels is not None else []
        out = outs[0] if outs else "y"
        lines = eq.node_lines(self.model_, labels, out, self.output_type, decimals_to_display,
                              latex=output_format == "latex")
        if self.y_scale_ != 1:  # the network computes y in units of y_scale_
            head, rhs = lines[-1].split(" = ", 1)
            lines[-1] = f"{head} = {self.y_scale_:g}*({rhs})"
        if output_function_label:
            lines[-1] = lines[-1].replace("Sigmoid", output_function_label)
        names = getattr(self, "feature_names_in_", None)
        renamed = [] if names is None or input_labels is not None else [
            f"{s} = {str(n)!r}" for s, n in zip(self.symbols_, names) if s != str(n)]
        if renamed:
            lines += ["where", *renamed]
        return "\n".join(["Model:", *lines])

    def to_latex(self) -> str:
        """LaTeX of ``y = equation_``."""
        check_is_fitted(self, "equation_")
        return "y = " + sympy.latex(self.equation_)

    def visualize_model(self, input_labels: Sequence[str] | None = None):
        """The equation's graph as a ``graphviz.Digraph`` (its ``.source`` is the DOT text).

        Rendering it (``.render``, notebook display) needs Graphviz's ``dot`` program; the DOT
        text does not.
        """
        check_is_fitted(self, "model_")
        import graphviz

        labels = list(input_labels) if input_labels is not None else self._input_labels()
        return graphviz.Source(eq.to_dot(self.model_, labels, "y"))

    def __str__(self) -> str:
        if hasattr(self, "model_"):
            return self.model_repr()
        return self.__repr__()


__all__ = ["OUTPUT_TYPES", "DARTSRegressor"]
