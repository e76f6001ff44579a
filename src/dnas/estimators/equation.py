"""Readable equations from a fixed expression network: SymPy form, rounding, text, LaTeX, graph.

Constants are rounded to ``digits`` significant digits (a value that rounds to an integer becomes
that integer, so ``1.0·x`` reads ``x``) and the result is simplified by SymPy.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import sympy

from dnas.estimators.fitting import PI_DENOMINATORS
from dnas.spaces.expression.graph import Node, fold, walk
from dnas.spaces.expression.network import ExpressionNetwork, SympyReading


def round_constants(expr: sympy.Expr, digits: int = 4) -> sympy.Expr:
    """Round every floating constant of ``expr`` to ``digits`` significant digits.

    Magnitudes below ``1e-8`` become 0: at the scale of a fitted law they are round-off (a
    coefficient the fit drove to zero), not a constant of nature.
    """
    reps = {}
    for f in expr.atoms(sympy.Float):
        v = float(f)
        simple = _simple_rational(v)
        if simple is not None:  # a constant held at 1/3 reads 1/3, not 0.3333
            reps[f] = simple
            continue
        r = float(f"{v:.{digits}g}") if abs(v) >= 1e-8 else 0.0
        reps[f] = sympy.Integer(int(r)) if r == int(r) and abs(r) < 1e15 else sympy.Float(r, 15)
    return expr.xreplace(reps)


def _simple_rational(v: float) -> sympy.Expr | None:
    """``p/q`` (q = 2, 3, 4) or ``p·π/q``, ``p·π²/q`` (q = 1, 2, 3, 4, 6) when ``v`` is that
    value to round-off (a constant the fit held there), else None."""
    for q in (2, 3, 4):
        p = round(v * q)
        if p % q and abs(v - p / q) <= 1e-12 * max(1.0, abs(v)) and abs(p) < 10**6:
            return sympy.Rational(p, q)
    for k in (1, 2):
        for q in PI_DENOMINATORS:
            p = round(v * q / math.pi**k)
            if p and abs(v - p * math.pi**k / q) <= 1e-12 * max(1.0, abs(v)) and abs(p) < 10**3:
                return sympy.pi**k * sympy.Rational(p, q)
    return None


#: powers beyond this exponent are not simplified (:func:`tidy`)
MAX_EXPONENT = 12
#: nor powers of a sum whose expansion would have more terms than this
MAX_EXPANSION = 2000


def _expanded_terms(expr: sympy.Expr) -> int:
    """An estimate of the terms of ``expr`` expanded (SymPy's ``simplify`` expands and cancels),
    nested powers of sums included: a sum adds its terms' counts, a product multiplies its
    factors', ``s^n`` of a sum of ``m`` terms has ``C(m + n - 1, n)`` (``|n|`` rounded up), a
    function counts its argument's."""
    if expr.is_Atom:
        return 1
    if expr.is_Add:
        return sum(_expanded_terms(a) for a in expr.args)
    if expr.is_Mul:
        return math.prod(_expanded_terms(a) for a in expr.args)
    if expr.is_Pow and expr.exp.is_Number:
        m, n = _expanded_terms(expr.base), math.ceil(abs(float(expr.exp)))
        if m <= 1 or n <= 1:
            return m
        return math.comb(m + n - 1, n) if n <= MAX_EXPONENT else MAX_EXPANSION + 1
    return max((_expanded_terms(a) for a in expr.args), default=1)


def tidy(expr: sympy.Expr, digits: int = 4, max_ops: int = 25) -> sympy.Expr:
    """Round constants, simplify, and round again (simplification can create new floats).

    Expressions larger than ``max_ops`` operations, or with a power that SymPy would expand into
    too many terms (:func:`_expanded_terms`), are only rounded: ``simplify`` grows super-linearly,
    on ``(… + x)^317.75`` it expands a polynomial of degree 1271 (minutes), on a sum of twenty
    terms to the 12th power its multinomial coefficients fill the memory; a wide equation is no
    more readable for it.
    """
    e = round_constants(expr, digits)
    if sympy.count_ops(e) > max_ops or _expanded_terms(e) > MAX_EXPANSION:
        return e
    # SymPy may give up (or, on what the guard above misses, run out of memory)
    with contextlib.suppress(TypeError, ValueError, RecursionError, MemoryError):
        e = sympy.simplify(e)
    return round_constants(normalise_ratios(round_constants(e, digits)), digits)


def normalise_ratios(expr: sympy.Expr) -> sympy.Expr:
    """Scale each ratio term ``p/q`` so that ``q``'s constant (else its leading coefficient) is 1.

    A fitted ratio has one redundant scale (``8.064/(2.419·x + 8.064)`` is ``1/(0.3·x + 1)``):
    this picks the conventional one.
    """
    terms = []
    for term in sympy.Add.make_args(expr):
        num, den = sympy.fraction(term)
        if den.is_Add:
            const, rest = den.as_coeff_Add()
            scale = const if const != 0 else sympy.Add.make_args(rest)[0].as_coeff_Mul()[0]
            if scale.is_Number and scale not in (0, 1):
                term = sympy.expand(num / scale) / sympy.expand(den / scale)
        terms.append(term)
    return sympy.Add(*terms)


def output_function(expr: sympy.Expr, output_type: str) -> sympy.Expr:
    """Apply the estimator's output function to the network's expression."""
    if output_type == "real":
        return expr
    return 1 / (1 + sympy.exp(-expr))


def symbols_for(names: Sequence[str]) -> list[sympy.Symbol]:
    return [sympy.Symbol(str(n), real=True) for n in names]


def node_lines(
    model: ExpressionNetwork,
    input_labels: Sequence[str],
    output_label: str,
    output_type: str,
    decimals: int,
    latex: bool = False,
) -> list[str]:
    """AutoRA-style lines ``k1 = ...``, ..., ``y = ...`` of a fixed network."""
    lines = []

    def fmt(e: sympy.Expr) -> str:
        e = _round_decimals(e, decimals)
        return sympy.latex(e) if latex else sympy.sstr(e)

    class Lines(SympyReading):
        def state(self, node: Node, value: sympy.Expr) -> sympy.Expr:
            name = f"k_{node.index + 1}" if latex else node.name
            lines.append(f"{name} = {fmt(value)}")
            return sympy.Symbol(name)

    reading = Lines()
    nodes = walk(model)
    fold(nodes, dict(zip(model.sources(1), symbols_for(input_labels))), reading)
    out = sympy.Integer(0)
    for node in (n for n in nodes if n.output):
        name = f"k_{node.index + 1}" if latex else node.name
        out = out + sympy.Float(float(model.out_weight[node.index].detach())) * sympy.Symbol(name)
    out = out + sympy.Float(float(model.out_bias.detach()))
    out_s = fmt(out)
    if output_type != "real":
        out_s = (r"\sigma\left(" + out_s + r"\right)") if latex else f"Sigmoid({out_s})"
    lines.append(f"{output_label} = {out_s}")
    return lines


def _round_decimals(expr: sympy.Expr, decimals: int) -> sympy.Expr:
    """Round to ``decimals`` decimal places; a nonzero value that would round to 0 keeps
    ``max(decimals, 1)`` significant digits instead (a node shrunk to 1e-25 and scaled back up by
    the node reading it is not 0)."""
    reps = {}
    for f in expr.atoms(sympy.Float):
        v = float(f)
        r = round(v, decimals)
        if r == 0 and v != 0:
            r = float(f"{v:.{max(decimals, 1)}g}")
        reps[f] = sympy.Float(r, 15)
    return expr.xreplace(reps)


def to_dot(
    model: ExpressionNetwork,
    input_labels: Sequence[str],
    output_label: str,
    decimals: int = 2,
) -> str:
    """The fixed network as Graphviz DOT text: inputs, nodes, output; edges labelled."""
    x = sympy.Symbol("x")
    lines = ["digraph equation {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    names = dict(zip(model.sources(1), input_labels))
    for key, label in names.items():
        lines.append(f'  "{key}" [label="{_esc(label)}", shape=box, style=filled, '
                     'fillcolor="#d6eaf8"];')
    for node in walk(model):
        sym = {"add": "+", "mul": "×", "div": "÷"}[node.op]
        lines.append(f'  "{node.name}" [label="{node.name} ({sym})", shape=ellipse];')
        for edges in node.operands:
            for e in edges:
                text = sympy.sstr(_round_decimals(SympyReading().edge(e, x), decimals))
                port = "" if len(node.operands) == 1 else _PORTS[node.op][e.operand] + ": "
                lines.append(f'  "{e.source}" -> "{node.name}" [label="{_esc(port + text)}"];')
    lines.append(f'  "out" [label="{_esc(output_label)}", shape=box, style=filled, '
                 'fillcolor="#d5f5e3"];')
    for node in walk(model):
        if node.output:
            w = round(float(model.out_weight[node.index].detach()), decimals)
            lines.append(f'  "{node.name}" -> "out" [label="{w:g}"];')
    b = round(float(model.out_bias.detach()), decimals)
    if b != 0:
        lines.append(f'  "bias" [label="{b:g}", shape=plaintext];')
        lines.append('  "bias" -> "out";')
    lines.append("}")
    return "\n".join(lines)


_PORTS = {"add": {"a": "a", "b": "b"}, "mul": {"a": "a", "b": "b"},
          "div": {"a": "numerator", "b": "denominator"}}


def _esc(s: str) -> str:
    return str(s).replace("\\", "\\\\").replace('"', '\\"')


__all__ = ["node_lines", "output_function", "round_constants", "symbols_for", "tidy", "to_dot"]
