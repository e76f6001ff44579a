"""Fitting a discrete equation: constants by least squares, structure by coordinate-wise search.

After the relaxed search, the derived architecture is a discrete equation whose constants were
trained inside a mixture. Two steps turn it into the law:

1. **Constant fit.** The equation is read off the network as a NumPy function of its constants
   with the exact Jacobian (:class:`~dnas.spaces.expression.numeric.NumericEquation`), and its
   residuals are minimised by Levenberg-Marquardt (:mod:`dnas.estimators.lm`: Moré's scaling,
   Nielsen's damping, in NumPy so that one fit gives the same bits in every process — SciPy's
   MINPACK does not), full batch, from the searched values and from a few perturbed starts. On
   a few hundred rows and a handful of constants that takes a millisecond or two.
2. **Coordinate-wise refinement** (optional). From a start, try every other candidate of one label
   at a time (edges, node combinations, the output bias), refit the constants, and keep a change
   when it lowers the Bayesian information criterion

       BIC = n · ln(max(MSE, floor)) + k · ln(n),      floor = 1e-10 · Var(y)

   where ``k`` counts the fitted coefficients plus one per term (every edge other than
   ``none``), so that no term is free and, between two forms with as many terms, the one with
   fewer fitted constants wins (``x1/(x1 + x2)`` over ``x2/(a·x1 + b·x2) + c``, which says the
   same with two more constants). The floor stops round-off from rewarding superfluous
   terms on noise-free data. A constant held at a simple value (:func:`snap`) is not fitted;
   it costs the length of its description instead (:func:`held_cost`: nothing for 1, ``ln 2``
   for 2 or 1/2, as much as a fitted constant for 256). Passes repeat until no label changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import torch
from scipy.special import expit

from dnas.arch.architecture import Architecture
from dnas.arch.derivation import fix
from dnas.estimators.lm import levenberg_marquardt
from dnas.spaces.expression.network import ExpressionNetwork, node_of, op_label
from dnas.spaces.expression.numeric import NumericEquation

BIAS = "output_bias"
#: the criterion's floor of the MSE, as a fraction of Var(y) (see the module docstring)
FLOOR = 1e-10


#: criteria (BIC) closer than this are tied. Equal equations reached in other parametrisations
#: (a sine's sign and phase) differ in the last bits, and so did one fit in two processes while
#: the constants were fitted by SciPy's MINPACK (benchmarks/RESULTS.md §5): a comparison finer
#: than that would pick between equal equations by round-off, and the searches that go on from
#: the pick would differ. Ties keep the incumbent, and rankings break them by the equation's
#: form (:func:`rank`)
TIE = 1e-4
#: MSEs within this fraction are equal (the same reason)
MSE_TIE = 1e-7


def rank(cand: Candidate) -> tuple:
    """The sort key of candidates, best first: the criterion to :data:`TIE`, then the form (a
    fixed order, the same in every process)."""
    return (math.floor(cand.bic / TIE) if math.isfinite(cand.bic) else math.inf, repr(cand.form))


@dataclass
class Candidate:
    """A discrete equation, its fitted constants and how well it fits."""

    architecture: Architecture
    use_bias: bool
    theta: np.ndarray = field(repr=False)
    mse: float
    bic: float
    #: fitted value of each coefficient, keyed by (id of the search network's parameter, index)
    values: dict = field(default_factory=dict, repr=False)
    #: which nodes feed the output (None: all)
    outputs: tuple[bool, ...] | None = None
    #: constants held at a simple value, ``((index into theta, value), ...)``: not fitted, and
    #: not counted by the criterion
    fixed: tuple[tuple[int, float], ...] = ()

    @property
    def form(self) -> tuple:
        """What identifies the equation (its constants aside)."""
        return (tuple(sorted(self.architecture.items())), self.use_bias, self.outputs, self.fixed)


class Ledger:
    """The work the constant fits of one regressor fit have spent, in edge evaluations (one
    evaluation of an equation and its Jacobian costs one unit per edge): a count, not a clock, so
    the budget does not depend on the machine's speed. Past ``limit`` the evaluators that share it
    report :attr:`Evaluator.exhausted`, and the searches stop with what they have found."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit, self.spent = limit, 0
        #: whether a grace was given (the limit was reached once)
        self.reached = False

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

    def grace(self, units: int) -> None:
        """The limit is reached: allow ``units`` more from now, for the careful fits that
        conclude a search (:attr:`reached` stays true)."""
        self.reached = True
        if self.limit is not None:
            self.limit = self.spent + units


def fit_constants(
    equation: NumericEquation,
    X: np.ndarray,
    y: np.ndarray,
    theta0: np.ndarray | None = None,
    *,
    logistic: bool = False,
    max_iter: int = 100,
    n_starts: int = 2,
    generator: torch.Generator | None = None,
    fixed: tuple[tuple[int, float], ...] = (),
    ledger: Ledger | None = None,
) -> tuple[float, np.ndarray]:
    """Least-squares fit of the equation's constants to ``y``; returns ``(mse, theta)``.

    ``fixed`` holds some constants at given values (``(index, value)`` pairs); the others are
    fitted. ``ledger`` is charged for every evaluation.

    ``logistic`` fits ``sigmoid(equation)``. Levenberg-Marquardt with the exact Jacobian, at most
    ``max_iter`` evaluations per start. Starts alternate between ``theta0`` (default: the
    network's values) and the equation's neutral initial values (coefficients learned inside a
    mixture can sit far from any value the equation alone needs): first each as it is, then
    perturbed — every coefficient multiplied by ``exp(N(0, 0.5²))`` and its sign flipped with
    probability 0.2 (around ``theta0``) or 0.5 (around the neutral values), a cheap multi-start
    against the local minima of exp/ln/ratio forms. Non-finite residuals (far outside a guard)
    count as 1e10.
    """
    full = equation.theta0 if theta0 is None else np.asarray(theta0, dtype=np.float64)
    full = full.copy()
    initial = equation.theta_initial.copy()
    for i, v in fixed:
        full[i] = initial[i] = v
    free = np.array([i for i in range(len(full)) if i not in dict(fixed)], dtype=int)
    theta0, neutral = full[free], initial[free]
    last: list = [None, None, None]  # theta (bytes), residual, Jacobian of the latest evaluation
    cost = max(1, len(equation.coefs))

    def evaluate(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = theta.tobytes()  # the solver asks for the Jacobian where it just evaluated
        if key == last[0]:
            return last[1], last[2]
        whole = full.copy()
        whole[free] = theta
        if ledger is not None:
            ledger.spent += cost
        with np.errstate(all="ignore"):
            value, jac = equation(X, whole)
            jac = jac[:, free]
            if logistic:
                value = expit(value)
                jac = jac * (value * (1.0 - value))[:, None]
            r = value - y
        if not np.isfinite(r).all():
            r = np.nan_to_num(r, nan=1e10, posinf=1e10, neginf=-1e10)
        if not np.isfinite(jac).all():
            jac = np.nan_to_num(jac, nan=0.0, posinf=1e10, neginf=-1e10)
        last[:] = [key, r, jac]
        return r, jac

    def mse(theta: np.ndarray) -> float:
        return float(np.mean(evaluate(theta)[0] ** 2))

    def whole(theta: np.ndarray) -> np.ndarray:
        out = full.copy()
        out[free] = theta
        return out

    best_theta, best = theta0, mse(theta0)
    if len(theta0) == 0 or max_iter <= 0:
        return best, whole(best_theta)
    for start in range(n_starts):
        base = theta0 if start % 2 == 0 else neutral
        start_theta = base.copy()
        if start > 1:
            noise = torch.randn(len(theta0), generator=generator, dtype=torch.float64).numpy()
            flip = torch.rand(len(theta0), generator=generator, dtype=torch.float64).numpy()
            p_flip = 0.2 if start % 2 == 0 else 0.5
            start_theta = base * np.exp(0.5 * noise) * np.where(flip < p_flip, -1.0, 1.0)
        start_theta = np.where(np.isfinite(start_theta), start_theta, 1.0)
        x = levenberg_marquardt(evaluate, start_theta, max_nfev=max_iter)
        value = mse(x)
        # a later start must be better beyond another process' round-off: starts that reach
        # the same minimum in another parametrisation (a sine's sign and phase) differ in the
        # last bits only, and which of them is kept decides what the search does next
        if value < best * (1.0 - MSE_TIE):
            best, best_theta = value, x
    return best, whole(best_theta)


def complexity(architecture: Architecture, n_theta: int) -> int:
    """Fitted coefficients plus one per term (edge other than ``none``)."""
    terms = sum(1 for label, names in architecture.items()
                if not label.endswith("_op") and names[0] != "none")
    return n_theta + terms


class Evaluator:
    """Fits and scores discrete equations of one searched network, with a cache.

    Parameters
    ----------
    network : ExpressionNetwork
        The searched (relaxed) network; its trained coefficients start every fit.
    X, y : ndarray
        The data (float64).
    output_type : str
        ``"real"`` or one of the logistic outputs.
    max_iter, n_starts : int
        Budget of each constant fit.
    generator : torch.Generator
        Drives the perturbed starts.
    budget : int or None
        Fits (cache misses) after which :attr:`exhausted` turns true: the discrete searches that
        use this evaluator stop there and return their best so far. A count, not a clock, so
        the budget does not depend on the machine's speed.
    ledger : Ledger or None
        The work budget shared with the other evaluators of one regressor fit; once it is spent
        :attr:`exhausted` is true as well.
    """

    def __init__(self, network: ExpressionNetwork, X: np.ndarray, y: np.ndarray,
                 output_type: str, *, max_iter: int, n_starts: int,
                 generator: torch.Generator | None, budget: int | None = None,
                 ledger: Ledger | None = None) -> None:
        self.network, self.X, self.y, self.output_type = network, X, y, output_type
        self.max_iter, self.n_starts, self.generator = max_iter, n_starts, generator
        self.budget, self.ledger = budget, ledger
        self.floor = FLOOR * max(float(np.var(y)), 1e-300)
        self.cache: dict[tuple, Candidate] = {}
        self.fits = 0

    @property
    def exhausted(self) -> bool:
        """Whether the fit budget, or the shared ledger, is spent."""
        return ((self.budget is not None and self.fits >= self.budget)
                or (self.ledger is not None and self.ledger.exhausted))

    def __call__(self, architecture: Architecture, use_bias: bool, init: dict | None = None,
                 outputs: tuple[bool, ...] | None = None,
                 fixed: tuple[tuple[int, float], ...] = ()) -> Candidate:
        """Fit and score one equation; ``init`` (a :attr:`Candidate.values`) warm-starts the
        coefficients it knows (a neighbour of a fitted equation shares most of them);
        ``outputs`` hides nodes from the output, ``fixed`` holds constants (see
        :class:`Candidate`)."""
        key = (tuple(sorted(architecture.items())), use_bias, outputs, fixed)
        if key in self.cache:
            return self.cache[key]
        equation = NumericEquation(self.network, architecture, use_bias, outputs)
        keys = [(id(p), i) for p, i in equation.slots]
        init = init or {}
        theta0 = np.array([init.get(k, v) for k, v in zip(keys, equation.theta0)],
                          dtype=np.float64)
        if equation.degenerate or (outputs is not None and not any(outputs)):
            mse, theta = math.inf, theta0
        else:
            mse, theta = fit_constants(equation, self.X, self.y, theta0,
                                       logistic=self.output_type != "real",
                                       max_iter=self.max_iter, n_starts=self.n_starts,
                                       generator=self.generator, fixed=fixed,
                                       ledger=self.ledger)
        self.fits += 1
        n = len(self.y)
        k = complexity(architecture, len(theta) - len(fixed))  # the bias, if any, is in theta
        bic = (n * math.log(max(mse, self.floor)) + k * math.log(max(n, 2))
               + sum(held_cost(v) for _, v in fixed))
        cand = Candidate(architecture, use_bias, theta, mse, bic,
                         dict(zip(keys, (float(v) for v in theta))), outputs, fixed)
        self.cache[key] = cand
        return cand

    def residual(self, cand: Candidate) -> np.ndarray:
        """``y`` minus the fitted equation ``cand`` (one of this evaluator's network) on ``X``."""
        equation = NumericEquation(self.network, cand.architecture, cand.use_bias, cand.outputs)
        with np.errstate(all="ignore"):
            values = equation(self.X, cand.theta)[0]
            if self.output_type != "real":
                values = expit(values)
        return self.y - values


def refine(
    evaluate: Evaluator,
    start: Candidate,
    candidates: dict[str, tuple[str, ...]],
    *,
    bias_choice: bool,
    max_passes: int = 4,
) -> Candidate:
    """Coordinate-wise discrete search from ``start`` (see the module docstring): every other
    candidate of one label, the output bias on or off, and — with several nodes — each node
    shown in or hidden from the output. Stops early, with the best so far, once the evaluator's
    fit budget is spent."""
    best = start
    n_nodes = evaluate.network.n_nodes
    labels: list[str | int] = [*candidates, *([BIAS] if bias_choice else [])]
    labels += list(range(n_nodes)) if n_nodes > 1 else []  # output toggles, by node index
    for _ in range(max_passes):
        improved = False
        for label in labels:
            outputs = best.outputs or (True,) * n_nodes
            trials: list[tuple[dict, bool, tuple[bool, ...] | None]]
            if label == BIAS:
                trials = [(dict(best.architecture), not best.use_bias, best.outputs)]
            elif isinstance(label, int):
                flipped = tuple(not v if j == label else v for j, v in enumerate(outputs))
                trials = [(dict(best.architecture), best.use_bias, flipped)]
            else:
                trials = []
                for name in candidates[label]:
                    if name != best.architecture[label][0]:
                        trials.append(({**dict(best.architecture), label: [name]},
                                       best.use_bias, best.outputs))
            for choice, use_bias, outs in trials:
                if evaluate.exhausted:
                    return best
                cand = evaluate(Architecture(choice), use_bias, best.values, outs)
                if cand.bic < best.bic - TIE:
                    best, improved = cand, True
        if not improved:
            break
    return best


def term_cost(name: str, coefficients: int) -> int:
    """A primitive's share of the complexity ``k``: one for the term, plus its coefficients."""
    return 0 if name == "none" else 1 + coefficients


def simplify(
    evaluate: Evaluator,
    start: Candidate,
    costs: dict[str, dict[str, int]],
    *,
    bias_choice: bool,
    max_passes: int = 20,
    budget: int | None = None,
) -> Candidate:
    """Try every simpler candidate of each edge (fewer coefficients), and "drop a term for the
    output bias", with careful fits; keep changes that lower the BIC. ``budget`` bounds the
    careful fits (the simplest equation found by then is returned).

    The coordinate search compares equations after short fits, which can leave a term that a
    longer fit shows to be superfluous, or a term standing in for the bias (``exp(0.1·x) ≈ 1``)
    that no single change can remove.
    """
    best = start
    n_nodes = evaluate.network.n_nodes
    spent = evaluate.fits

    def better(cand: Candidate) -> bool:
        # a plainer equation that fits as well (to round-off) is preferred
        return cand.bic < best.bic - TIE or (cand.mse <= best.mse * (1 + MSE_TIE) + evaluate.floor
                                             and cand.bic <= best.bic + TIE)

    for _ in range(max_passes):
        improved = False
        # a node kept in the output only as a vanishing term (k1 shrunk to 1e-9 and scaled back
        # up by the node that reads it) is hidden instead: the same law, one term fewer
        outputs = best.outputs or (True,) * n_nodes
        for j in range(n_nodes if sum(outputs) > 1 else 0):
            if outputs[j]:
                hidden = tuple(v and i != j for i, v in enumerate(outputs))
                cand = evaluate(best.architecture, best.use_bias, best.values, hidden)
                if better(cand):
                    best, improved = cand, True
                    break
        # one pass over the labels, each change kept as soon as it is found (the pass goes on
        # from the changed equation); passes repeat until none changes, within ``budget`` fits
        for label, cost in costs.items():
            if (budget is not None and evaluate.fits - spent >= budget) or evaluate.exhausted:
                return best
            names = list(cost)
            current = str(best.architecture[label][0])
            # simpler (fewer coefficients), or as simple and plainer (earlier in the registry:
            # mult before relu, which equals it on x >= 0)
            trials = [({**dict(best.architecture), label: [n]}, best.use_bias)
                      for n, c in cost.items()
                      if c < cost[current] or (c == cost[current]
                                               and names.index(n) < names.index(current))]
            if bias_choice and not best.use_bias and current != "none" and "none" in cost:
                trials.append(({**dict(best.architecture), label: ["none"]}, True))
            # without this edge, a product or ratio may only be the sum of what is left: a
            # factor that has shrunk to a constant (x^0.001, exp(0.001·x)) goes with its node's
            # combination, a move no single change makes
            node_op = op_label(node_of(label))
            if current != "none" and "none" in cost and best.architecture.get(
                node_op, ("add",)
            )[0] != "add":
                trials.append(({**dict(best.architecture), label: ["none"], node_op: ["add"]},
                               best.use_bias))
            for choice, use_bias in trials:
                cand = evaluate(Architecture(choice), use_bias, best.values, best.outputs)
                if better(cand):
                    best, improved = cand, True
                    break
        if not improved:
            break
    return best


def carry_over(evaluate: Evaluator, smaller: ExpressionNetwork, cand: Candidate) -> Candidate:
    """``cand`` (an equation of the ``smaller`` graph) as an equation of ``evaluate``'s larger
    graph: the same nodes, the new ones empty and hidden, the fitted constants kept."""
    big = evaluate.network
    choice: dict[str, list[str]] = {}
    for module in [*big.edges.values(), *big.combine.values()]:
        label = getattr(module, "label", None)
        if not isinstance(label, str):  # a fixed combination: not a choice
            continue
        choice[label] = [str(n) for n in cand.architecture[label]] if (
            label in cand.architecture) else (["add"] if label.endswith("_op") else ["none"])
    outputs = (cand.outputs or (True,) * smaller.n_nodes) + (False,) * (
        big.n_nodes - smaller.n_nodes)
    architecture = Architecture(choice)
    slots = NumericEquation(big, architecture, cand.use_bias, outputs).slots
    init = {(id(p), i): float(v) for (p, i), v in zip(slots, cand.theta)}
    return evaluate(architecture, cand.use_bias, init, outputs)


def simple_values(value: float, denominators: tuple[int, ...] = (1, 2, 3, 4), *,
                  pi: bool = False) -> list[float]:
    """The simple constants nearest to ``value``, simplest first: the rationals ``p/q`` (``q`` in
    ``denominators``) within 10% of ``max(1, |value|)``; with ``pi`` (an angle: the frequency or
    phase of a sine), the multiples ``p·π/q`` (``q`` in 1, 2, 3, 4, 6) within 2%, without it those
    of ``π`` and ``π²`` within a millionth (what only noise-free data give); then ``value``
    to one and to two significant digits within 10% (0.6005 → 0.6, 0.3993 → 0.4: what a law's
    author wrote). None for a value that already is one of them."""
    out: list[float] = []
    if not math.isfinite(value) or abs(value) > 1e3:
        return out
    scale = max(1.0, abs(value))
    rational = [round(value * q) / q for q in denominators]
    decimal = [float(f"{value:.{digits}g}") for digits in (1, 2)]
    angles = [round(value * q / math.pi) * math.pi / q for q in PI_DENOMINATORS] if pi else []
    # elsewhere π or π² only where the value is one to a millionth (noise-free data): π²/x² under
    # a root, 4π in a denominator
    exact_pi = [] if pi else [round(value * q / math.pi**k) * math.pi**k / q
                              for k in (1, 2) for q in PI_DENOMINATORS]
    for values, tolerance in ((rational, 0.1), (angles, 0.02), (exact_pi, 1e-6),
                              (decimal, 0.1)):
        for v in values:
            if abs(v - value) <= 1e-12 * scale:
                return []  # already simple
            if abs(v - value) <= tolerance * scale and v not in out:
                out.append(v)
    return out


#: denominators of the multiples of π that :func:`simple_values` offers
PI_DENOMINATORS = (1, 2, 3, 4, 6)


def held_cost(value: float) -> float:
    """What a held constant costs the criterion: the length of its description among the simple
    values, in nats (``ln|p| + ln q`` for ``p/q``; a fraction of π or π² one or two bits more;
    ``ln M`` for significant digits that spell the integer ``M``: ``0.97`` costs ``ln 97``).
    0, ±1 cost nothing, ``1/2`` and 2 ``ln 2``, ``0.7`` ``ln 7``; a large integer as much as a
    fitted constant (``ln 256 ≈ ln 200``): held, ``256`` is no simpler than fitted (a stand-in's
    ``256·cos(0.29·x + 5/3)`` for ``x³ + x² + x`` must not look simple by it)."""
    if value == 0.0 or not math.isfinite(value):
        return 0.0
    for q in (1, 2, 3, 4):
        p = value * q
        if abs(p - round(p)) <= 1e-12 * max(1.0, abs(p)):
            return math.log(max(1.0, abs(round(p)))) + math.log(q)
    for k in (1, 2):
        for q in PI_DENOMINATORS:
            p = value * q / math.pi**k
            if abs(p - round(p)) <= 1e-12 * max(1.0, abs(p)):
                return math.log(max(1.0, abs(round(p)))) + math.log(q) + k * math.log(2.0)
    for digits in range(1, 16):  # m significant digits: the integer they spell (0.97: 97)
        if float(f"{value:.{digits}g}") == value:
            mantissa = abs(value) / 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
            return math.log(max(1.0, round(mantissa)))
    return 16 * math.log(10.0)


def snap(evaluate: Evaluator, start: Candidate) -> Candidate:
    """Hold constants at simple values (integers, halves, thirds, quarters, fractions of π, one
    or two significant digits) where that does not cost more than the criterion's price of a
    constant.

    A held constant is not counted as fitted but costs its description (:func:`held_cost`), so
    snapping to ``v`` is kept exactly when ``n·ln(MSE'/MSE) + held_cost(v) < ln n``: an exponent
    of 2.01 fitted to noise becomes 2, a frequency of 0.6 stays 0.6. Fractions of π are offered
    for angles only (a sine's or cosine's frequency and phase), not for exponents or scales.

    The simplest values go first, over all constants (by :func:`held_cost`: every 1 the
    constants are near, then every 2 or 1/2, ...; among equally simple ones the nearest first),
    each hold refitting the free constants: on noisy data the constants trade off against each
    other (``x1/(0.97·x1/x2 + 1.012)^1.012``), and holding ``0.97`` as two digits first would
    keep the exponent from becoming 1. Stops, keeping the constants as fitted, once the
    evaluator is exhausted.
    """
    best = _hold_redundant(evaluate, start)
    angles = _angles(evaluate.network, best)
    # first, jointly: on noisy data the constants moved together, and each hold alone may cost
    # more than it saves where all of them together save (x1/(0.97·x1/x2 + 1.012)^1.012 is
    # x1/(x1 + x2)). Each constant's simplest value is tried alone; those whose hold alone
    # raises the criterion by at most two constants' price are held together
    n = len(evaluate.y)
    viable = []
    for i in range(len(best.theta)):
        offered = ([] if i in dict(best.fixed) or evaluate.exhausted
                   else simple_values(float(best.theta[i]), pi=i in angles))
        if offered:
            v = min(offered, key=held_cost)
            alone = evaluate(best.architecture, best.use_bias, best.values, best.outputs,
                             (*best.fixed, (i, v)))
            if alone.bic <= best.bic + 2.0 * math.log(max(n, 2)):
                viable.append((i, v))
    if len(viable) > 1 and not evaluate.exhausted:
        cand = evaluate(best.architecture, best.use_bias, best.values, best.outputs,
                        (*best.fixed, *viable))
        if cand.bic <= best.bic + TIE:
            best = cand
    tried: set[tuple[int, float]] = set()
    while not evaluate.exhausted:
        held = dict(best.fixed)
        offers = sorted(
            (held_cost(v), abs(v - float(best.theta[i])) / max(1.0, abs(float(best.theta[i]))),
             i, v)
            for i in range(len(best.theta)) if i not in held
            for v in simple_values(float(best.theta[i]), pi=i in angles)
            if (i, v) not in tried)
        for _, _, i, v in offers:
            if evaluate.exhausted:  # the budget is spent: the rest stay as fitted
                return best
            tried.add((i, v))
            cand = evaluate(best.architecture, best.use_bias, best.values, best.outputs,
                            (*best.fixed, (i, v)))
            if cand.bic <= best.bic + TIE:
                best = cand
                break  # the free constants moved: offer anew
        else:
            break
    return best


#: a direction of the constants along which the fit's Jacobian is this small (relative to its
#: largest singular value) changes nothing: the constants are redundant along it
REDUNDANT = 1e-7
#: constants :func:`_hold_redundant` tries to hold per redundant direction, and directions it
#: holds: each try is a careful fit
HOLD_TRIES = 3


def _hold_redundant(evaluate: Evaluator, start: Candidate) -> Candidate:
    """Hold at ±1 the constants that only trade off against others (``c·(a·s + b)^p`` has one
    scale too many, a weight inside ``s`` another): from the output inwards (the edges of later
    nodes first), the outer scales ``c`` before the inner ``a``. Without this, snapping would hold
    the redundant constant at whatever simple value it drifted to (``5/3``) and the others could
    no longer be simple."""
    best = start
    network = evaluate.network
    rank = {"c": 0, "a": 1}
    order = {id(getattr(primitive, name)): (-int(node_of(label)[1:]), rank.get(name, 2))
             for label, module in network.edges.items()
             for primitive in getattr(module, "candidates", {}).values()
             for name, _ in getattr(primitive, "coefficients", ())}
    for _ in range(min(len(start.theta), HOLD_TRIES)):
        if evaluate.exhausted:
            break
        equation = NumericEquation(network, best.architecture, best.use_bias, best.outputs)
        free = [i for i in range(len(best.theta)) if i not in dict(best.fixed)]
        if not free or not np.isfinite(best.mse):
            break
        with np.errstate(all="ignore"):
            jac = equation(evaluate.X, best.theta)[1][:, free]
        if not np.all(np.isfinite(jac)):
            break
        _, sv, vt = np.linalg.svd(jac, full_matrices=True)
        sv = np.concatenate([sv, np.zeros(len(free) - len(sv))])
        null = vt[sv <= REDUNDANT * max(float(sv[0]), 1e-300)]
        if not len(null):
            break
        weight = np.abs(null).max(axis=0)  # how far each constant moves along the null space
        movable = [k for k in range(len(free)) if weight[k] > 1e-3
                   and abs(best.theta[free[k]]) > 1e-12]
        movable.sort(key=lambda k: (order.get(id(equation.slots[free[k]][0]), (0, 2)),
                                    -weight[k]))
        for k in movable[:HOLD_TRIES]:
            i = free[k]
            cand = evaluate(best.architecture, best.use_bias, best.values, best.outputs,
                            (*best.fixed, (i, float(np.sign(best.theta[i])))))
            if cand.bic <= best.bic + TIE:
                best = cand
                break
        else:
            break
    return best


def _angles(network: ExpressionNetwork, cand: Candidate) -> set[int]:
    """Indices into ``cand.theta`` of the constants inside a sine or cosine (``a``, ``b`` of
    ``c·sin(a·x + b)``)."""
    inside: set[int] = set()
    for module in network.edges.values():
        for name, primitive in getattr(module, "candidates", {}).items():
            if "sin" in name or "cos" in name:
                inside.update(id(getattr(primitive, c)) for c in ("a", "b")
                              if hasattr(primitive, c))
    slots = NumericEquation(network, cand.architecture, cand.use_bias, cand.outputs).slots
    return {i for i, (p, _) in enumerate(slots) if id(p) in inside}


def materialize(network: ExpressionNetwork, cand: Candidate) -> ExpressionNetwork:
    """The fixed network of ``cand`` with its fitted constants (a copy; ``network`` unchanged)."""
    model = cast(ExpressionNetwork, fix(network, cand.architecture))
    if cand.outputs is not None:
        model.out_mask.copy_(torch.tensor(cand.outputs, dtype=model.out_mask.dtype))
    if not cand.use_bias:
        with torch.no_grad():
            model.out_bias.zero_()
        model.out_bias.requires_grad_(False)
    with torch.no_grad():
        for (p, i), v in zip(NumericEquation(model, use_bias=cand.use_bias).slots, cand.theta):
            if i is None:
                p.fill_(float(v))
            else:
                p[i] = float(v)
    return model


def grid_minimum(f, grid: np.ndarray, keep: int = 5, steps: int = 60) -> float | None:
    """The minimiser of a one-dimensional ``f`` over ``grid``'s span: ``f`` on the grid, then a
    golden-section search in the cells around each of the ``keep`` lowest local minima (a
    narrow valley beside a wide one is found too); None where ``f`` is nowhere finite."""
    values = [f(v) for v in grid]
    last = len(grid) - 1
    minima = [i for i in range(len(grid)) if np.isfinite(values[i])
              and values[i] <= min(values[max(i - 1, 0)], values[min(i + 1, last)])]
    ratio = (math.sqrt(5) - 1) / 2
    seen = [(values[i], float(grid[i])) for i in minima]
    for i in sorted(minima, key=lambda i: values[i])[:keep]:
        lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, last)])
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        fa, fb = f(a), f(b)
        seen += [(fa, a), (fb, b)]
        for _ in range(steps):
            if fa <= fb:
                hi, b, fb = b, a, fa
                a = hi - ratio * (hi - lo)
                fa = f(a)
                seen.append((fa, a))
            else:
                lo, a, fa = a, b, fb
                b = lo + ratio * (hi - lo)
                fb = f(b)
                seen.append((fb, b))
    finite = [s for s in seen if np.isfinite(s[0])]
    return min(finite)[1] if finite else None


__all__ = ["BIAS", "MSE_TIE", "TIE", "Candidate", "Evaluator", "Ledger", "carry_over",
           "complexity", "fit_constants", "grid_minimum", "held_cost", "materialize", "rank",
           "refine", "simple_values", "simplify", "snap", "term_cost"]
