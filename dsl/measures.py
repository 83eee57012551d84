"""Measure tables (docs/language.md, "Measure tables"): lowering `measures NAME [group G]`
arguments into ordinary `value: weight` arguments.

A `measures` block states each measure's weight, direction, group and treatment once. The
checker checks the block here and rewrites every `measures NAME group G` argument of a call
into one weighted argument per measure of that group, in the order the table lists them:

    treatment(m): weight        (higher is better)
    -treatment(m): weight       (lower is better)

The expanded call is then checked and evaluated like any hand-written aggregation, so the
interpreter, the audit, explain, diff and sensitivity see (and record) every component.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from dsl import syntax as S
from dsl.errors import Span, did_you_mean
from dsl.tree import map_children

REQUIRED = ("weight", "direction", "group")
WORDS = {"weight": "weight W", "direction": "higher is better / lower is better", "group": "group G",
         "treatment": "treated by FUNCTION"}


# What a call with a measures argument that could not be expanded becomes: a name no statement
# can have, in Symbols.broken, so the call is an error value without a second, cascading error.
BROKEN = "measures argument"


def check_measures(table: S.MeasuresDecl, error: Callable) -> tuple[S.MeasuresDecl, set[str]]:
    """Report duplicate measures and missing or repeated attributes. Gives the table with the
    rows that fit, and the groups that lost a row (already reported)."""
    rows, seen, lost = [], {}, set()
    for row in table.rows:
        ok = True
        if row.name in seen:
            error("duplicate-measure", f"measure '{row.name}' is listed twice in measures '{table.name}'",
                  row.name_span, "state each measure once" + (f" (the first is at line {seen[row.name].line})." if seen[row.name] else "."))
            ok = False
        else:
            seen[row.name] = row.span
        kinds = [a.kind for a in row.attrs]
        for attr in row.attrs:
            if kinds.count(attr.kind) > 1:
                error("duplicate-option", f"measure '{row.name}' states its {attr.kind} twice", attr.span,
                      "state it once.")
                ok = False
                break
        for kind in REQUIRED:
            if kind not in kinds:
                error("measure-incomplete", f"measure '{row.name}' of measures '{table.name}' states no {kind}",
                      row.span, f"add `{WORDS[kind]}`: a measure table states each measure's weight, "
                      "direction and group.")
                ok = False
        weight = row.get("weight")
        if isinstance(weight, S.Number) and weight.value < 0:
            error("bad-weight", f"measure '{row.name}' has a negative weight", weight.span, "weights must be >= 0.")
            ok = False
        if ok:
            rows.append(row)
        else:
            lost.update(a.value for a in row.attrs if a.kind == "group")
    return attrs.evolve(table, rows=tuple(rows)), lost


def _component(row: S.MeasureRow) -> S.Weighted:
    at = row.span
    value: S.Expr = S.Name(row.name, span=row.name_span)
    treatment = row.get("treatment")
    if treatment is not None:
        where = next(a.span for a in row.attrs if a.kind == "treatment")
        # `treated by NAME`: the name is the attribute's last word, so an error points at it alone
        name_at = where and Span(where.file, where.end_line, where.end_column - len(treatment), where.end_line,
                                 where.end_column)
        value = S.Call(treatment, (value,), span=where, name_span=name_at)
    if row.get("direction") == "lower":
        value = S.Unary("-", value, span=at)
    return S.Weighted(value, row.get("weight"), span=at)


class Lowering:
    """Rewrites syntax trees, replacing every MeasuresArg by the weighted arguments it stands for."""

    def __init__(self, tables: dict[str, tuple[S.MeasuresDecl, set[str]]], error: Callable):
        self.tables, self.error = tables, error

    def arguments(self, argument: S.MeasuresArg) -> tuple[S.Weighted, ...] | None:
        """The weighted arguments; None (reported) if there are none to give."""
        table = self.tables.get(argument.measures)
        if table is None:
            suggestion = did_you_mean(argument.measures, list(self.tables))
            self.error("unknown-measures", f"no measure table is called '{argument.measures}'", argument.span,
                       f"did you mean '{suggestion}'?" if suggestion else "declare it with `measures NAME { ... }`.")
            return None
        table, lost = self.tables[argument.measures]
        rows = [r for r in table.rows if argument.group is None or r.get("group") == argument.group]
        if not rows and argument.group in lost:
            return None
        if not rows:
            groups = list(dict.fromkeys(r.get("group") for r in table.rows))
            suggestion = did_you_mean(argument.group, groups)
            self.error("measure-group-empty", f"no measure of measures '{table.name}' is in group "
                       f"'{argument.group}'", argument.span,
                       f"did you mean '{suggestion}'?" if suggestion else f"its groups are {', '.join(groups)}.")
            return None
        return tuple(_component(r) for r in rows)

    def node(self, node):
        """`node` with every measures argument below it expanded (the same object if none)."""
        if isinstance(node, S.Call):
            arguments = []
            for a in node.arguments:
                if isinstance(a, S.MeasuresArg):
                    expanded = self.arguments(a)
                    if expanded is None:
                        return S.Name(BROKEN, span=a.span)
                    arguments.extend(expanded)
                else:
                    arguments.append(self.node(a))
            changed = len(arguments) != len(node.arguments) or any(n is not a for n, a in zip(arguments, node.arguments))
            return attrs.evolve(node, arguments=tuple(arguments)) if changed else node
        return map_children(node, self.node)
