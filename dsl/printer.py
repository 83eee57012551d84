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
from dsl import types as T

_KEYWORDS = frozenset({
    "and", "or", "not", "if", "then", "else", "is", "missing", "true", "false", "for", "map", "band",
    "otherwise", "within", "skip", "require", "normalise", "normalize", "higher", "lower", "better",
    "top", "bottom", "method",
})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Binding strength, loosest first (dsl/grammar.lark).
_IF, _OR, _AND, _NOT, _CMP, _IS, _SUM, _PRODUCT, _NEG, _POW, _POSTFIX, _ATOM = range(12)
_BINARY = {"or": _OR, "and": _AND, "+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "^": _POW}
_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def label_text(label: str) -> str:
    return label if _NAME.match(label) and label not in _KEYWORDS else quote(label)


def number_text(value: float) -> str:
    """Shortest text that reads back as the same number."""
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


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
        return "" if expr is None else self._expr(expr, _IF)

    def _paren(self, text: str, strength: int, needed: int) -> str:
        return f"({text})" if strength < needed else text

    def _const(self, e: M.Const) -> str:
        written = self.written(e.span)
        if written is not None and isinstance(e.value, float) and is_number_literal(written, e.value):
            return written
        return value_text(e.value)

    def _expr(self, e: M.Expr, needed: int) -> str:  # noqa: C901 - one case per expression class
        if isinstance(e, M.Const):
            text = self._const(e)
            return self._paren(text, _NEG if text.startswith("-") else _ATOM, needed)
        if isinstance(e, M.LabelConst):
            return label_text(e.label)
        if isinstance(e, M.Ref):
            return e.name
        if isinstance(e, M.Unary):
            if e.op == "not":
                return self._paren(f"not {self._expr(e.operand, _NOT)}", _NOT, needed)
            return self._paren(f"-{self._expr(e.operand, _NEG)}", _NEG, needed)
        if isinstance(e, M.Binary):
            if e.op in _COMPARE:
                text = f"{self._expr(e.left, _IS)} {e.op} {self._expr(e.right, _IS)}"
                return self._paren(text, _CMP, needed)
            strength = _BINARY.get(e.op, _SUM)
            if e.op == "^":
                text = f"{self._expr(e.left, _POSTFIX)} ^ {self._expr(e.right, _NEG)}"
            else:
                text = f"{self._expr(e.left, strength)} {e.op} {self._expr(e.right, strength + 1)}"
            return self._paren(text, strength, needed)
        if isinstance(e, M.IsMissing):
            text = f"{self._expr(e.operand, _SUM)} is {'not ' if e.negated else ''}missing"
            return self._paren(text, _IS, needed)
        if isinstance(e, M.IfElse):
            text = (f"if {self._expr(e.condition, _IF)} then {self._expr(e.then, _IF)} "
                    f"else {self._expr(e.otherwise, _IF)}")
            return self._paren(text, _IF, needed)
        if isinstance(e, M.ListOf):
            return "[" + ", ".join(self._expr(i, _IF) for i in e.items) + "]"
        if isinstance(e, M.Pick):
            return self._paren(f"{self._expr(e.operand, _ATOM)} for {quote(e.key)}", _POSTFIX, needed)
        if isinstance(e, M.Call):
            return self.call(e)
        if isinstance(e, M.MapOf):
            cases = [f"{self.key(e, k)}: {self._expr(v, _IF)}" for k, v in zip(e.keys, e.values)]
            if e.otherwise is not None:
                cases.append(f"otherwise: {self._expr(e.otherwise, _IF)}")
            return f"map {self._expr(e.subject, _IF)} {{ {', '.join(cases)} }}"
        if isinstance(e, M.BandOf):
            cases = [f"{self.case(op, t)}: {self._expr(v, _IF)}"
                     for op, t, v in zip(e.ops, e.thresholds, e.values)]
            if e.otherwise is not None:
                cases.append(f"otherwise: {self._expr(e.otherwise, _IF)}")
            return f"band {self._expr(e.subject, _IF)} {{ {', '.join(cases)} }}"
        return f"<{type(e).__name__}>"

    def key(self, e: M.MapOf, key: Any) -> str:
        if isinstance(key, str):
            return label_text(key) if e.subject.type.base == T.LEVEL else quote(key)
        return value_text(key)

    def case(self, op: str, threshold: M.Expr) -> str:
        return f"{op} {self._expr(threshold, _IF)}"

    def argument(self, e: M.Call, i: int) -> str:
        text = self._expr(e.args[i], _IF)
        if e.weights is not None and i < len(e.weights):
            text = f"{text}: {self._expr(e.weights[i], _IF)}"
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
