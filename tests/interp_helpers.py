"""Helpers for the interpreter tests: methodologies built by hand (dsl.model objects, no
checker) or from Tier text (dsl.check_source), and typed input frames (trace.py types)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dsl import model as M
from dsl import types as T
from dsl.builtins import BUILTINS, R_BOOLEAN, R_SAME, R_SCALAR
from interpreter import evaluate

NUM = T.number()
SNUM = T.number(scalar=True)
BOOL = T.boolean()
SBOOL = T.boolean(scalar=True)
TEXT = T.text()
RATING = T.LevelType("rating", ("inadequate", "requires improvement", "good", "outstanding"))
LEVEL = T.level(RATING)

ARITHMETIC = ("+", "-", "*", "/", "^")


# ---------------------------------------------------------------- hand-built expressions


def c(value) -> M.Const:
    if isinstance(value, bool):
        return M.Const(value, SBOOL)
    if isinstance(value, str):
        return M.Const(value, T.text(scalar=True))
    return M.Const(float(value), SNUM)


def lab(label: str, level: T.LevelType = RATING) -> M.LabelConst:
    return M.LabelConst(level, label, T.level(level, scalar=True))


def r(name: str, t: T.Type = NUM) -> M.Ref:
    return M.Ref(name, t)


def b(op: str, left: M.Expr, right: M.Expr) -> M.Binary:
    scalar = left.type.scalar and right.type.scalar
    if op in ARITHMETIC:
        t = T.number(scalar)
    else:
        t = T.boolean(scalar)
        if T.LIST in (left.type.base, right.type.base):
            t = T.list_of(t)
    return M.Binary(op, left, right, t)


def call(function: str, *args: M.Expr, t: T.Type | None = None, **options) -> M.Call:
    spec = BUILTINS[function]
    if t is None:
        scalar = all(a.type.scalar for a in args)
        if options.get("population_count"):
            t = SNUM
        elif spec.returns == R_SCALAR:
            t = T.number(scalar=options.get("within") is None)
        elif spec.scope == "population":
            t = NUM
        elif spec.returns == R_BOOLEAN:
            t = T.boolean(scalar)
        elif spec.returns == R_SAME:
            t = args[0].type.as_scalar(scalar)
        else:
            t = T.number(scalar)
    return M.Call(function, tuple(args), t, **options)


def listof(*items: M.Expr) -> M.ListOf:
    return M.ListOf(tuple(items), T.list_of(items[0].type.as_scalar(all(i.type.scalar for i in items))))


# ---------------------------------------------------------------- hand-built nodes


def _refs(expr) -> list[str]:
    """Names referenced by an expression (for Node.deps)."""
    out: list[str] = []

    def walk(e):
        if isinstance(e, M.Ref):
            out.append(e.name)
        elif isinstance(e, M.Call) and e.within:
            out.append(e.within)
        for field in getattr(type(e), "__attrs_attrs__", ()):
            value = getattr(e, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                if hasattr(type(item), "__attrs_attrs__") and not isinstance(item, (T.Type, T.LevelType)):
                    walk(item)

    walk(expr)
    return list(dict.fromkeys(out))


def inp(name: str, t: T.Type = NUM) -> M.Node:
    return M.Node(name, M.INPUT, t, ())


def param(name: str, value, t: T.Type = SNUM, range=None) -> M.Node:
    return M.Node(name, M.PARAM, t, (), value=value, range=range)


def let(name: str, expr: M.Expr, kind: str = "let") -> M.Node:
    return M.Node(name, kind, expr.type, tuple(_refs(expr)), expr=expr)


def tier(name: str, scale: T.LevelType, source, rules, missing_label=None, limits=()) -> M.Node:
    spec = M.TierSpec(scale, source, tuple(rules), missing_label, tuple(limits))
    deps = _refs(source) if source is not None else []
    for rule in rules:
        deps += _refs(rule.condition)
    for limit in limits:
        deps += _refs(limit.condition)
    return M.Node(name, M.TIER, T.level(scale), tuple(dict.fromkeys(deps)), tier=spec)


def methodology(*nodes: M.Node, tests=()) -> M.Methodology:
    return M.Methodology("test", None, None, "org", "id", None, None, "<test>", (), {}, tuple(nodes),
                         tuple(tests))


# ---------------------------------------------------------------- data


def frame(m: M.Methodology, data: dict, keys=None) -> pd.DataFrame:
    """Typed inputs (trace.py representation) from plain lists; None is missing."""
    n = len(next(iter(data.values()))) if data else len(keys)
    index = pd.Index(keys if keys is not None else [f"E{i}" for i in range(n)], dtype=object)
    out = pd.DataFrame(index=index)
    for node in m.inputs:
        if node.name not in data:
            continue
        values = list(data[node.name])
        out[node.name] = typed(node.type, values, index)
    return out


def typed(t: T.Type, values: list, index: pd.Index) -> pd.Series:
    if t.base == T.NUMBER:
        return pd.Series([np.nan if v is None else float(v) for v in values], index=index, dtype="float64")
    if t.base == T.BOOLEAN:
        return pd.Series(pd.array([pd.NA if v is None else v for v in values], dtype="boolean"), index=index)
    if t.base == T.LEVEL:
        return pd.Series(pd.Categorical(values, categories=list(t.level.labels), ordered=True), index=index)
    return pd.Series(values, index=index, dtype=object)


def run(m: M.Methodology, data: dict, keys=None, **kwargs):
    return evaluate(m, frame(m, data, keys), **kwargs)


# ---------------------------------------------------------------- Tier text

HEADER = 'methodology "test"\nentity org key id\n'


def check(body: str) -> M.Methodology:
    import dsl

    return dsl.check_source(HEADER + body)


def run_text(body: str, data: dict, keys=None, **kwargs):
    m = check(body)
    return evaluate(m, frame(m, data, keys), **kwargs)


# ---------------------------------------------------------------- comparing


def values(result, name: str) -> list:
    """A node's values as plain Python values (None for missing)."""
    s = result.values(name)
    out = []
    for v in s.astype(object).tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(v)
    return out


def reasons(result, name: str) -> list:
    return result.traces[name].reasons.tolist()


def held_by(value, leaf, seen=None) -> list:
    """Every object `leaf` accepts that `value` holds through closures (a function's cells,
    a LazyCodes' maker), lists and tuples: what a lazily computed thing keeps alive."""
    from interpreter.values import LazyCodes

    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if leaf(value):
        return [value]
    found = []
    if isinstance(value, LazyCodes):
        found += held_by(value._make, leaf, seen)
    elif callable(value) and getattr(value, "__closure__", None):
        for cell in value.__closure__:
            found += held_by(cell.cell_contents, leaf, seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += held_by(item, leaf, seen)
    return found
