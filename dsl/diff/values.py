"""The texts and values the differ compares and shows for parts of a node: a rule's name, a
threshold's number, a range as written, a param's value as written, the levels of a header, and
each node made canonical (a default written out is no change)."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs

from dsl import model as M
from dsl import types as T
from dsl.builtins import BUILTINS, POLARITY
from dsl.printer import is_number_literal, label_text, number_text, value_text
from dsl.tree import transform


def _rule_item(key: tuple[str, int], rules: tuple[M.TierRule, ...]) -> str:
    label, k = key
    count = sum(1 for r in rules if r.label == label)
    return label_text(label) if count <= 1 and k == 0 else f"{label_text(label)} #{k + 1}"


def _threshold_value(condition: M.TierCondition) -> Any:
    if isinstance(condition, M.ThresholdRule):
        return _weight_value(condition.value)
    if isinstance(condition, M.RankRule):
        return condition.count
    return None


def _weight_value(expr: M.Expr | None) -> float | None:
    """The number a weight or threshold expression stands for, when it is a literal."""
    if isinstance(expr, M.Const) and isinstance(expr.value, float) and not isinstance(expr.value, bool):
        return expr.value
    if isinstance(expr, M.Unary) and expr.op == "-":
        v = _weight_value(expr.operand)
        return None if v is None else -v
    return None


def _presence(a: Any, b: Any) -> str:
    if a is None and b is not None:
        return "added"
    if a is not None and b is None:
        return "removed"
    return "changed"


def plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _json_range(r: tuple[float, float] | None) -> list[float] | None:
    return None if r is None else [r[0], r[1]]


def _range_text(r: tuple[float, float] | None, node: M.Node | None = None) -> str | None:
    """`low..high`, as written in the declaration when it shows (`40%..60%`)."""
    if r is None:
        return None
    if node is not None and node.source_text:
        match = _RANGE.search(node.source_text.split("\n", 1)[0])
        if match:
            low, high = match.group(1).strip(), match.group(2).strip()
            if is_number_literal(low, r[0]) and is_number_literal(high, r[1]):
                return f"{low}..{high}"
    return f"{number_text(r[0])}..{number_text(r[1])}"


_RANGE = re.compile(r"\brange\s+(-?\s*[\d.]+(?:[eE][-+]?\d+)?%?)\s*\.\.\s*(-?\s*[\d.]+(?:[eE][-+]?\d+)?%?)")


def _scale_text(level: T.LevelType) -> str:
    """Best first, as the rules are written."""
    return " > ".join(label_text(label) for label in reversed(level.labels))


def canonical(node: M.Node) -> M.Node:
    """The node with what is written but means nothing made explicit, so that writing a default
    is no change: a population function's polarity defaults to `higher is better`."""
    return transform(node, _default_polarity)


def _default_polarity(value: Any) -> Any:
    if isinstance(value, M.Call) and value.polarity is None:
        builtin = BUILTINS.get(value.function)
        if builtin is not None and POLARITY in builtin.options:
            return attrs.evolve(value, polarity="higher")
    return value


def _shape(value: Any) -> Any:
    """An expression as written, without the types the checker inferred: a reference's type
    is its definition's (`b_score` turning from per-entity to scalar changes `b_score`, not the
    definitions that read it), and that definition's own change is shown where it is."""
    if isinstance(value, tuple):
        return tuple(_shape(v) for v in value)
    if not attrs.has(type(value)) or isinstance(value, (T.Type, T.LevelType)):
        return value
    return (type(value).__name__, *(
        (f.name, _shape(getattr(value, f.name)))
        for f in attrs.fields(type(value)) if f.init and f.name not in ("span", "type")))


_PARAM_VALUE = re.compile(r"^\s*param\s+\w+\s*(?::[^=]*)?=\s*(.+?)(?:\s+range\b.*)?$")


def _param_value_text(node: M.Node) -> str:
    """A param's declared value as written (`50%`), else printed."""
    first = node.source_text.split("\n", 1)[0] if node.source_text else ""
    match = _PARAM_VALUE.match(first)
    if match:
        written = match.group(1).strip()
        if isinstance(node.value, float) and not isinstance(node.value, bool):
            if is_number_literal(written, node.value):
                return written
        elif (isinstance(node.value, bool) and written in ("true", "false")) or (
                isinstance(node.value, str) and written.strip('"') == node.value):
            return written
    if isinstance(node.type.level, T.LevelType) and isinstance(node.value, str):
        return label_text(node.value)
    return value_text(node.value)


def _levels_text(m: M.Methodology) -> str | None:
    """The entity levels below the top, as written in the header (None for one level)."""
    if not m.is_multilevel:
        return None
    parts = []
    for lv in m.lower_levels:
        label = f" label {lv.label_column}" if lv.label_column else ""
        parts.append(f"{lv.name} within {lv.parent} key {lv.key}{label}")
    return "; ".join(parts)


def _level_of(node: M.Node, m: M.Methodology) -> str:
    if node.context is not None:
        return f"scalar over {node.context}"
    return f"per {node.level or m.entity}"


def _per(node: M.Node) -> str:
    return f" per {node.level}" if node.level is not None else ""
