"""Each node's recorded metadata (`nodes` rows): the resolved expression as text, the options
of a top-level built-in call, the weights and tier rules resolved to numbers with this run's
values, and the `F(x) over LEVEL` calls it makes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import attrs
import numpy as np

from dsl import constants
from dsl import model as M
from dsl import types as T
from dsl.printer import Printer, condition_text, label_text, option_texts
from interpreter.trace import RunResult, rule_prefix

# ---------------------------------------------------------------- expression text


def expression_text(expr: M.Expr | None) -> str:
    """The resolved expression printed in Tier syntax (user functions appear expanded)."""
    return Printer().text(expr)


# ---------------------------------------------------------------- constants


def fold(expr: M.Expr | None, result: RunResult) -> float | None:
    """The value of a constant expression at the params this run used (dsl.constants, the one
    folder the checker and the interpreter use too), or None if it is not constant."""
    return constants.fold(expr, result.params, constants.scalar_definitions(result.methodology))


# ---------------------------------------------------------------- node metadata


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _scale(t: T.Type) -> list[str] | None:
    if t.base == T.LEVEL and t.level is not None:
        return list(t.level.labels)
    if t.base == T.LIST and t.item is not None and t.item.level is not None:
        return list(t.item.level.labels)
    return None


def _call_info(node: M.Node) -> dict | None:
    e = node.expr
    if not isinstance(e, M.Call):
        return None
    info = {
        "function": e.function,
        "args": [expression_text(a) for a in e.args],
        "refs": [a.name if isinstance(a, M.Ref) else None for a in e.args],
        "polarity": e.polarity,
        "within": e.within,
        "skip_missing": e.skip_missing,
        "require": e.require,
        "normalise": e.normalise,
        "population_count": e.population_count,
    }
    if e.over is not None:  # only then: a single-level run's rows stay as they were
        info["over"] = e.over
    if e.method is not None:
        info["method"] = e.method
    return info


def _weights(node: M.Node, result: RunResult) -> dict[str, float] | None:
    e = node.expr
    if not isinstance(e, M.Call) or e.weights is None:
        return None
    out: dict[str, float] = {}
    for arg, weight in zip(e.args, e.weights):
        w = fold(weight, result)
        if not isinstance(arg, M.Ref) or w is None:
            return None  # a partial map would misstate the sum of weights
        out[arg.name] = out.get(arg.name, 0.0) + w
    return out


def _recorded_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    return None if math.isnan(float(value)) else float(value)


def _tier_info(node: M.Node, result: RunResult) -> dict | None:
    spec = node.tier
    if spec is None:
        return None
    trace = result.traces.get(node.name) or next(
        (lv.traces[node.name] for lv in result.members.values() if node.name in lv.traces), None)
    stats = trace.scalars if trace is not None else {}
    rules = []
    for i, rule in enumerate(spec.rules):
        c = rule.condition
        item: dict[str, Any] = {
            "index": i,
            "label": rule.label,
            "text": rule.source_text.strip() or condition_text(c),
            "condition": condition_text(c),
        }
        prefix = rule_prefix([r.label for r in spec.rules], i)
        if isinstance(c, M.ThresholdRule):
            item.update(
                kind="threshold",
                op=c.op,
                # as the rule compared it; a trace built by hand (tests) may lack the statistic
                threshold=_recorded_number(stats.get(f"{prefix}.threshold", fold(c.value, result))),
                threshold_text=expression_text(c.value),
            )
        elif isinstance(c, M.RankRule):
            item.update(kind="rank", direction=c.direction, count=c.count, percent=c.percent)
            if c.within is not None:
                item["within"] = c.within
        elif isinstance(c, M.OtherwiseRule):
            item.update(kind="otherwise")
        else:
            item.update(kind="condition")
        rules.append(item)
    limits = [
        {
            "index": i,
            "direction": limit.direction,
            "label": limit.label,
            "condition": expression_text(limit.condition),
            "text": limit.source_text.strip()
            or (
                f"limit {node.name} to {limit.direction} {label_text(limit.label)} "
                f"when {expression_text(limit.condition)}"
            ),
        }
        for i, limit in enumerate(spec.limits)
    ]
    return {
        "from": expression_text(spec.source) if spec.source is not None else None,
        "scale": list(spec.scale.labels),
        "missing_label": spec.missing_label,
        "rules": rules,
        "limits": limits,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float, np.number)):
        v = float(value)
        return None if math.isnan(v) else v
    return str(value)


def _node_expression(node: M.Node) -> str | None:
    """A definition's expression, or a tier's `from` expression, printed."""
    if node.expr is not None:
        return expression_text(node.expr)
    if node.tier is not None and node.tier.source is not None:
        return expression_text(node.tier.source)
    return None


_SKIPPED_FIELDS = frozenset({"type", "span", "level"})  # types and label levels hold no calls


def _walk(expr: Any):
    """The expressions in `expr`, `expr` first, depth first (iterative)."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        children = []
        for field in attrs.fields(type(e)):
            if field.name in _SKIPPED_FIELDS:
                continue
            value = getattr(e, field.name)
            items = value if isinstance(value, tuple) else (value,)
            children += [v for v in items if attrs.has(type(v)) and type(v).__module__ == M.__name__]
        stack.extend(reversed(children))


def aggregates(node: M.Node) -> list[dict] | None:
    """The `F(x) over LEVEL` calls of a node, in the order written: `function`, `over` (the
    level aggregated over), `argument` (its text) and `reads` (the nodes the argument refers
    to, in first-use order). None when the node makes none (every node of a single-level
    methodology)."""
    out = []
    for expr in constants.node_expressions(node):
        for e in _walk(expr):
            if isinstance(e, M.Call) and e.over is not None:
                reads = []
                for arg in e.args:
                    for sub in _walk(arg):
                        if isinstance(sub, M.Ref) and sub.name not in reads:
                            reads.append(sub.name)
                out.append(
                    {
                        "function": e.function,
                        "over": e.over,
                        "argument": ", ".join([*(expression_text(a) for a in e.args),
                                               *(text for _, text in option_texts(e))]),
                        "reads": reads,
                    }
                )
    return out or None


def node_row(position: int, node: M.Node, result: RunResult) -> tuple:
    """The `nodes` row (without the run id) of one node."""
    scale = node.tier.scale.labels if node.tier is not None else _scale(node.type)
    return (
        node.name,
        position,
        node.kind,
        node.label,
        node.doc,
        node.source_text,
        _node_expression(node),
        node.span.file if node.span else None,
        node.span.line if node.span else None,
        node.overrides,
        str(node.type),
        node.type.base,
        1 if node.type.scalar else 0,
        _json(list(node.deps)),
        _json(list(scale) if scale is not None else None),
        _json(_call_info(node)),
        _json(_weights(node, result)),
        _json(_tier_info(node, result)),
        (node.column or node.name) if node.kind == M.INPUT else None,
        _json(list(node.range) if node.range is not None else None),
        1 if node.required else 0,
        _json(_plain(node.value)) if node.kind == M.PARAM else None,
    )


NODE_COLUMNS = (
    "name",
    "position",
    "kind",
    "label",
    "doc",
    "source_text",
    "expression",
    "file",
    "line",
    "overrides",
    "type",
    "base",
    "scalar",
    "dependencies",
    "scale",
    "call",
    "weights",
    "tier",
    "data_column",
    "range",
    "required",
    "declared_value",
)


