"""Checked (resolved) expressions printed back in Tier syntax, with the fewest parentheses.

Used wherever a checked expression is shown: the audit store's `nodes.expression`, explain,
and the structural diff. Number literals keep their written text (`25%`) when the printer is
given the source texts.
"""

from __future__ import annotations

import math
import re
from typing import Any

from dsl import model as M
from dsl import text as X
from dsl import types as T
from dsl.text import QUOTED_IN_EXPRESSIONS, quote
from dsl.text import float_text as number_text

__all__ = ["Printer", "condition_text", "is_number_literal", "label_text", "number_text", "option_texts", "quote",
           "squash", "value_text"]


def label_text(label: str) -> str:
    return X.label(label, QUOTED_IN_EXPRESSIONS)


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "missing"
    return number_text(value)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class Printer:
    """Prints resolved expressions in Tier syntax. Number literals keep their written text
    (`25%`) when the source texts are given and the span points at a literal."""

    def __init__(self, sources: dict[str, str] | None = None):
        self.lines = {path: text.splitlines() for path, text in (sources or {}).items()}

    def written(self, span) -> str | None:
        if span is None or span.file not in self.lines:
            return None
        lines = self.lines[span.file]
        if not 1 <= span.line <= len(lines) or span.line != span.end_line:
            return None
        return lines[span.line - 1][span.column - 1:span.end_column - 1].strip() or None

    def text(self, expr: M.Expr | None) -> str:
        return "" if expr is None else self._expr(expr, X.IF)

    def _const(self, e: M.Const) -> str:
        written = self.written(e.span)
        if written is not None and isinstance(e.value, float) and is_number_literal(written, e.value):
            return written
        return value_text(e.value)

    def _expr(self, e: M.Expr, needed: int) -> str:  # noqa: C901 - one case per expression class
        paren = X.parenthesised
        if isinstance(e, M.Const):
            text = self._const(e)
            return paren(text, X.NEGATE if text.startswith("-") else X.ATOM, needed)
        if isinstance(e, M.LabelConst):
            return label_text(e.label)
        if isinstance(e, M.Ref):
            return e.name
        if isinstance(e, M.Unary):
            level = X.UNARY.get(e.op, X.NEGATE)
            text = f"not {self._expr(e.operand, level)}" if e.op == "not" else f"-{self._expr(e.operand, level)}"
            return paren(text, level, needed)
        if isinstance(e, M.Binary):
            level, left, right = X.BINARY.get(e.op, X.BINARY["+"])
            return paren(f"{self._expr(e.left, left)} {e.op} {self._expr(e.right, right)}", level, needed)
        if isinstance(e, M.IsMissing):
            text = f"{self._expr(e.operand, X.IS_OPERAND)} is {'not ' if e.negated else ''}missing"
            return paren(text, X.IS, needed)
        if isinstance(e, M.IfElse):
            text = (f"if {self._expr(e.condition, X.IF)} then {self._expr(e.then, X.IF)} "
                    f"else {self._expr(e.otherwise, X.IF)}")
            return paren(text, X.IF, needed)
        if isinstance(e, M.ListOf):
            return "[" + ", ".join(self._expr(i, X.IF) for i in e.items) + "]"
        if isinstance(e, M.Pick):
            return paren(f"{self._expr(e.operand, X.PICK_OPERAND)} for {quote(e.key)}", X.POSTFIX, needed)
        if isinstance(e, M.Call):
            return self.call(e)
        if isinstance(e, M.MapOf):
            cases = [f"{self.key(e, k)}: {self._expr(v, X.IF)}" for k, v in zip(e.keys, e.values)]
            if e.otherwise is not None:
                cases.append(f"otherwise: {self._expr(e.otherwise, X.IF)}")
            return f"map {self._expr(e.subject, X.IF)} {{ {', '.join(cases)} }}"
        if isinstance(e, M.BandOf):
            cases = [f"{self.case(op, t)}: {self._expr(v, X.IF)}"
                     for op, t, v in zip(e.ops, e.thresholds, e.values)]
            if e.otherwise is not None:
                cases.append(f"otherwise: {self._expr(e.otherwise, X.IF)}")
            return f"band {self._expr(e.subject, X.IF)} {{ {', '.join(cases)} }}"
        return f"<{type(e).__name__}>"

    def key(self, e: M.MapOf, key: Any) -> str:
        if isinstance(key, str):
            return label_text(key) if e.subject.type.base == T.LEVEL else quote(key)
        return value_text(key)

    def case(self, op: str, threshold: M.Expr) -> str:
        return f"{op} {self._expr(threshold, X.IF)}"

    def argument(self, e: M.Call, i: int) -> str:
        text = self._expr(e.args[i], X.IF)
        if e.weights is not None and i < len(e.weights):
            text = f"{text}: {self._expr(e.weights[i], X.IF)}"
        return text

    def call(self, e: M.Call) -> str:
        parts = [self.argument(e, i) for i in range(len(e.args))]
        parts += [text for _, text in option_texts(e)]
        over = f" over {e.over}" if e.over is not None else ""
        return f"{e.function}({', '.join(parts)}){over}"

    def condition(self, rule: M.TierRule) -> str:
        written = squash(rule.source_text) if rule.source_text.strip() else None
        return written or condition_text(rule.condition, self)

    def limit(self, tier: str, limit: M.Limit) -> str:
        if limit.source_text.strip():
            return squash(limit.source_text)
        return (f"limit {tier} to {limit.direction} {label_text(limit.label)} "
                f"when {self.text(limit.condition)}")


def is_number_literal(written: str, value: float) -> bool:
    match = re.fullmatch(r"-?\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*(%?)", written)
    if match is None:
        return False
    try:
        number = float(written.rstrip("%").replace(" ", ""))
    except ValueError:
        return False
    if written.endswith("%"):
        number /= 100
    return math.isclose(number, value, rel_tol=1e-12, abs_tol=1e-15)


def option_texts(e: M.Call) -> list[tuple[str, str]]:
    out = []
    if e.polarity:
        out.append(("polarity", f"{e.polarity} is better"))
    if e.within:
        out.append(("within", f"within {e.within}"))
    if e.skip_missing:
        out.append(("skip_missing", "skip missing"))
    if e.require is not None:
        out.append(("require", f"require {e.require}"))
    if e.normalise:
        out.append(("normalise", "normalise"))
    if getattr(e, "method", None):
        out.append(("method", f'method: "{e.method}"'))
    return out


def condition_text(condition: M.TierCondition, printer: Printer | None = None) -> str:
    printer = printer or Printer()
    if isinstance(condition, M.ThresholdRule):
        return f"{condition.op} {printer.text(condition.value)}"
    if isinstance(condition, M.RankRule):
        within = f" within {condition.within}" if getattr(condition, "within", None) else ""
        if condition.percent:  # `top 10%` holds the share 0.1
            return f"{condition.direction} {number_text(round(condition.count * 100, 10))}%{within}"
        return f"{condition.direction} {number_text(condition.count)}{within}"
    if isinstance(condition, M.OtherwiseRule):
        return "otherwise"
    return printer.text(condition.condition)
