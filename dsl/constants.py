"""The one constant folder: the value of an expression known before any data is read.

A constant is a number literal, a numeric param (at the value a run uses: declared, overridden
with `--param`, or sampled), or a scalar definition (`let other = 1 - w + 20%`) whose
expression is itself constant, combined with `-`, `+`, `-`, `*`, `/` and `^`. The checker folds
with the declared values; `tierlang run` folds again with the params a run uses, and so does
sensitivity analysis with each sample's values; the interpreter evaluates weights the same way
(interpreter/functions.py), so the three can never disagree on what a weight is.

`weight_sums` applies the one weights rule: the weights of a `weighted_mean` without
`normalise` must sum to 100% (an error); with `normalise` any positive sum is divided out
(a note when it is not 100%).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs

from dsl import model as M
from dsl.builtins import BUILTINS
from dsl.errors import Span
from dsl.tree import walk

WEIGHT_TOLERANCE = 1e-9


def fold(expr: M.Expr | None, params: Mapping[str, object],
         definitions: Mapping[str, M.Expr] | Callable[[str], M.Expr | None] | None = None) -> float | None:
    """The numeric value of a constant expression, or None if it is not one (or is not finite).

    `params`: param name -> value; `definitions`: name -> expression of a scalar definition
    (or a function giving it). A param given as an array (one value per sample of a
    sensitivity analysis) folds element-wise: the result is then an array (dsl itself never
    imports numpy; the arithmetic is the array's own)."""
    lookup = definitions if callable(definitions) else (definitions or {}).get
    return _fold(expr, params, lookup, ())


def _fold(expr, params, lookup, seen: tuple) -> float | None:
    if isinstance(expr, M.Const):
        v = expr.value
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None
    if isinstance(expr, M.Ref):
        if expr.name in params:
            v = params[expr.name]
            if hasattr(v, "shape"):  # sampled: one value per sample (folded element-wise)
                return v
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return None
            return float(v) if math.isfinite(v) else None
        if expr.name in seen:
            return None
        definition = lookup(expr.name)
        return None if definition is None else _fold(definition, params, lookup, (*seen, expr.name))
    if isinstance(expr, M.Unary) and expr.op == "-":
        inner = _fold(expr.operand, params, lookup, seen)
        return None if inner is None else -inner
    if isinstance(expr, M.Binary) and expr.op in ("+", "-", "*", "/", "^"):
        a = _fold(expr.left, params, lookup, seen)
        b = _fold(expr.right, params, lookup, seen)
        if a is None or b is None:
            return None
        if hasattr(a, "shape") or hasattr(b, "shape"):  # per sample: undefined values stay NaN / inf
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a**b}[expr.op]
        if expr.op == "/" and b == 0:
            return None
        try:
            v = {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a**b}[expr.op]
        except (OverflowError, ZeroDivisionError, ValueError):
            return None
        return v if isinstance(v, float) and math.isfinite(v) else None
    return None


def scalar_definitions(methodology: M.Methodology) -> dict[str, M.Expr]:
    """The expressions of a methodology's scalar definitions, by name."""
    return {n.name: n.expr for n in methodology.nodes if n.expr is not None and n.type.scalar}


def node_expressions(node: M.Node) -> list[M.Expr]:
    """Every expression of a node: its definition, or its tier's `from`, thresholds,
    conditions and limits (`node.expressions()`, dsl.tree; kept by this name for the layers
    that import it from here, as `walk` is)."""
    return node.expressions()


@attrs.frozen
class WeightSum:
    node: str
    span: Span | None
    terms: tuple[tuple[str, str | None, float], ...]  # (component, the param or let named, weight)
    total: float
    normalise: bool

    @property
    def off(self) -> bool:
        return abs(self.total - 1.0) > WEIGHT_TOLERANCE

    def where(self) -> str:
        span = self.span
        return f"{span.file}:{span.line}:{span.column}: " if span is not None and span.file else ""

    def message(self) -> str:
        terms = ", ".join(f"{arg}: {name + ' ' if name else ''}{percent(w)}" for arg, name, w in self.terms)
        return f"the weights sum to {percent(self.total)}, not 100% ({terms})"


def percent(value: float) -> str:
    return f"{value * 100:.10g}%"


def weight_terms(call: M.Call, params, definitions) -> tuple[tuple[str, str | None, float], ...] | None:
    """(component, the name its weight is written as, weight) of a weighted call whose weights
    are all constant, else None."""
    terms = []
    for arg, weight in zip(call.args, call.weights or ()):
        value = fold(weight, params, definitions)
        if value is None:
            return None
        arg_text = arg.name if isinstance(arg, M.Ref) else f"component {len(terms) + 1}"
        terms.append((arg_text, weight.name if isinstance(weight, M.Ref) else None, value))
    return tuple(terms)


def weighted_calls(methodology: M.Methodology) -> list[tuple[str, M.Call]]:
    """(node name, call) of every weighted call whose weights must sum to 100% (`weighted_mean`:
    dsl.builtins, `weights_sum_to_one`), in methodology order."""
    out = []
    for node in methodology.nodes:
        for expr in node.expressions():
            for e in walk(expr):
                if isinstance(e, M.Call) and e.weights and _sums_to_one(e.function):
                    out.append((node.name, e))
    return out


def weight_sums(methodology: M.Methodology, params: Mapping[str, object],
                calls: list[tuple[str, M.Call]] | None = None,
                definitions: Mapping[str, M.Expr] | None = None) -> list[WeightSum | None]:
    """For each weighted call (`weighted_calls`), its weights summed with `params`; None for a
    call whose weights are not all constant."""
    definitions = scalar_definitions(methodology) if definitions is None else definitions
    out: list[WeightSum | None] = []
    for name, call in weighted_calls(methodology) if calls is None else calls:
        terms = weight_terms(call, params, definitions)
        out.append(None if terms is None else WeightSum(name, call.span, terms, _total(terms), call.normalise))
    return out


def _total(terms) -> object:
    weights = [w for _, _, w in terms]
    if any(hasattr(w, "shape") for w in weights):  # per sample
        return sum(weights[1:], weights[0])
    return math.fsum(weights)


class WeightRule:
    """The weights rule run again with the params a run uses (overridden or sampled): which
    weight sums they change from the declared ones and leave off 100% (with `normalise` a
    note, without it an error). The declared sums are folded once."""

    def __init__(self, methodology: M.Methodology, calls: list[tuple[str, M.Call]] | None = None):
        self.methodology = methodology
        self.calls = weighted_calls(methodology) if calls is None else calls
        self.definitions = scalar_definitions(methodology)
        declared = {p.name: p.value for p in methodology.params}
        self.declared = weight_sums(methodology, declared, self.calls, self.definitions)

    def changed(self, used: Mapping[str, object]) -> list[WeightSum]:
        after = weight_sums(self.methodology, used, self.calls, self.definitions)
        return [a for b, a in zip(self.declared, after)
                if a is not None and b is not None and a.off and abs(a.total - b.total) > WEIGHT_TOLERANCE]


def changed_weight_sums(methodology: M.Methodology, used: Mapping[str, object]) -> list[WeightSum]:
    """The weight sums that `used` params change from the declared ones, then not 100%."""
    return WeightRule(methodology).changed(used)


def _sums_to_one(function: str) -> bool:
    builtin = BUILTINS.get(function)
    return builtin is not None and builtin.weights_sum_to_one
