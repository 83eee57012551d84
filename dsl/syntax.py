"""The syntax tree: frozen attrs nodes built by the parser and nothing else.

Every node carries a `span` (where it was written) that is excluded from equality, so two
trees that differ only in layout, comments or number spelling compare equal. The formatter
prints a tree back to canonical text; `parse(format(tree)) == tree` holds for every tree.
"""

from __future__ import annotations

from typing import Union

import attrs

from dsl.errors import Span
from dsl.tree import Expression, Tree


def _span():
    return attrs.field(default=None, eq=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- expressions


@attrs.frozen
class Number(Expression):
    value: float
    text: str = attrs.field(default="", eq=False)  # as written: "0.800", "50%"
    span: Span | None = _span()


@attrs.frozen
class String(Expression):
    value: str
    span: Span | None = _span()


@attrs.frozen
class Boolean(Expression):
    value: bool
    span: Span | None = _span()


@attrs.frozen
class Name(Expression):
    """A bare name: a definition, input, param, function parameter or a level label."""

    name: str
    span: Span | None = _span()


@attrs.frozen
class Unary(Expression):
    op: str  # "-" or "not"
    operand: Expr
    span: Span | None = _span()


@attrs.frozen
class Binary(Expression):
    op: str  # + - * / ^ == != < <= > >= and or
    left: Expr
    right: Expr
    span: Span | None = _span()


@attrs.frozen
class IsMissing(Expression):
    operand: Expr
    negated: bool = False  # `x is not missing`
    span: Span | None = _span()


@attrs.frozen
class IfElse(Expression):
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span | None = _span()


@attrs.frozen
class ListExpr(Expression):
    items: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen
class Pick(Expression):
    """`x for "KEY"`: the value of x for one entity (a scalar)."""

    operand: Expr
    key: str
    span: Span | None = _span()


# Call arguments that are not plain expressions.


@attrs.frozen
class Weighted(Tree):
    """`value: weight` inside an aggregation."""

    value: Expr
    weight: Expr
    span: Span | None = _span()


@attrs.frozen
class Polarity(Tree):
    direction: str  # "higher" or "lower"
    span: Span | None = _span()


@attrs.frozen
class Within(Tree):
    group: str
    span: Span | None = _span()


@attrs.frozen
class SkipMissing(Tree):
    span: Span | None = _span()


@attrs.frozen
class Require(Tree):
    count: int
    span: Span | None = _span()


@attrs.frozen
class Normalise(Tree):
    span: Span | None = _span()


@attrs.frozen
class Method(Tree):
    """`method: 7` or `method: "hazen"`: the quantile definition of a population quantile."""

    name: str  # as written, without quotes ("7", "hazen")
    span: Span | None = _span()


@attrs.frozen
class MeasuresArg(Tree):
    """`measures outcomes group mortality`: every measure of a measure table (of one group),
    each with its weight; the checker lowers it to `value: weight` arguments (MeasuresDecl)."""

    measures: str
    group: str | None = None
    span: Span | None = _span()


Option = Union[Polarity, Within, SkipMissing, Require, Normalise, Method]
Argument = Union["Expr", Weighted, Option, MeasuresArg]


@attrs.frozen
class Call(Expression):
    function: str
    arguments: tuple[Argument, ...]
    over: str | None = None  # `mean(x) over services`: the entity level aggregated over
    span: Span | None = _span()
    name_span: Span | None = _span()
    over_span: Span | None = _span()


@attrs.frozen
class MapCase(Tree):
    key: Expr | None  # a Name, String, Number or Boolean; None for `otherwise`
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class MapExpr(Expression):
    subject: Expr
    cases: tuple[MapCase, ...]
    span: Span | None = _span()


@attrs.frozen
class BandCase(Tree):
    op: str | None  # >= > <= < == != ; None for `otherwise`
    threshold: Expr | None
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class BandExpr(Expression):
    subject: Expr
    cases: tuple[BandCase, ...]
    span: Span | None = _span()


Expr = Union[
    Number, String, Boolean, Name, Unary, Binary, IsMissing, IfElse, ListExpr, Pick, Call,
    MapExpr, BandExpr,
]


# ---------------------------------------------------------------- types


@attrs.frozen
class Label(Tree):
    """A level label or tier label. Written bare (`good`) or quoted (`"requires improvement"`)."""

    text: str
    span: Span | None = _span()


@attrs.frozen
class NumberType(Tree):
    span: Span | None = _span()


@attrs.frozen
class BooleanType(Tree):
    span: Span | None = _span()


@attrs.frozen
class TextType(Tree):
    span: Span | None = _span()


@attrs.frozen
class LevelTypeExpr(Tree):
    """`level a < b < c`: labels from worst to best."""

    labels: tuple[Label, ...]
    not_rated: tuple[Label, ...] = ()  # `missing "Not rated", ...`: cells read as missing
    span: Span | None = _span()


@attrs.frozen
class NamedType(Tree):
    name: str
    span: Span | None = _span()


TypeRef = Union[NumberType, BooleanType, TextType, LevelTypeExpr, NamedType]


# ---------------------------------------------------------------- header and statements


@attrs.frozen
class EntityDecl(Tree):
    """A further `entity` line of the header: `entity service within location key service_id`."""

    name: str
    within: tuple[str, ...] = ()  # the enclosing levels as written, nearest first
    key: str | None = None
    label: str | None = None
    span: Span | None = _span()


@attrs.frozen
class Header(Tree):
    name: str | None = None
    version: str | None = None
    effective: str | None = None  # ISO date as written
    entity: str | None = None  # the first `entity` line: its name, key, label and `within` chain
    key: str | None = None
    label: str | None = None
    within: tuple[str, ...] = ()
    more_entities: tuple[EntityDecl, ...] = ()  # further `entity` lines, in source order
    doc: str | None = None
    extends: str | None = None
    library: str | None = None  # `library "FOLDER"`: where `extends` also looks for its base
    span: Span | None = _span()
    extends_span: Span | None = _span()
    library_span: Span | None = _span()
    entity_span: Span | None = _span()


@attrs.frozen
class TypeDecl(Tree):
    name: str
    level: LevelTypeExpr
    doc: str | None = None
    span: Span | None = _span()
    name_span: Span | None = _span()


@attrs.frozen
class Range(Tree):
    low: Number
    high: Number
    span: Span | None = _span()


@attrs.frozen
class Normal(Tree):
    """`range normal(mean, sd)`: a param's plausible values, normally distributed."""

    mean: Number
    sd: Number
    span: Span | None = _span()


@attrs.frozen
class OneOf(Tree):
    """`one of [a, b, c]`: a param's plausible values, equally likely (literals like the value)."""

    options: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen
class InputDecl(Tree):
    name: str
    type: TypeRef
    display: str | None = None
    column: str | None = None
    range: Range | None = None
    required: bool = False
    doc: str | None = None
    per: str | None = None  # `per service`: the entity level of a lower level's input
    optional: bool = False  # the data may lack the column: every value missing, `column_absent`
    span: Span | None = _span()
    name_span: Span | None = _span()
    per_span: Span | None = _span()


@attrs.frozen
class ParamDecl(Tree):
    name: str
    value: Expr  # a literal: Number, String, Boolean or Name (a level label)
    range: Range | Normal | OneOf | None = None  # how it may vary (docs/sensitivity.md)
    doc: str | None = None
    span: Span | None = _span()
    name_span: Span | None = _span()


@attrs.frozen
class Definition(Tree):
    kind: str  # indicator, domain, score, let
    name: str
    expr: Expr
    display: str | None = None
    doc: str | None = None
    per: str | None = None  # `per location`: the entity level it is evaluated at
    span: Span | None = _span()
    name_span: Span | None = _span()
    per_span: Span | None = _span()


@attrs.frozen
class LocalLet(Tree):
    """`let NAME = EXPR` in a function body: usable by the lets after it and by the result."""

    name: str
    expr: Expr
    span: Span | None = _span()
    name_span: Span | None = _span()


@attrs.frozen
class FunctionDecl(Tree):
    name: str
    params: tuple[str, ...]
    body: Expr  # the result; with `lets`, it may use them (dsl.local_lets substitutes them)
    doc: str | None = None
    lets: tuple[LocalLet, ...] = ()
    span: Span | None = _span()
    name_span: Span | None = _span()


@attrs.frozen
class Threshold(Tree):
    """`>= 2.5`: compares the tier's `from` value."""

    op: str
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class RankCut(Tree):
    """`top 5`, `bottom 5`, `top 10%`: by rank of the `from` value; ties at the edge all go in."""

    direction: str  # "top" or "bottom"
    count: Number
    within: str | None = None  # `top 10% within peer_group`: counted within each group
    span: Span | None = _span()


@attrs.frozen
class Otherwise(Tree):
    span: Span | None = _span()


Condition = Union[Threshold, RankCut, Otherwise, Expr]


@attrs.frozen
class TierRule(Tree):
    label: Label
    condition: Condition
    span: Span | None = _span()


@attrs.frozen
class TierDecl(Tree):
    name: str
    rules: tuple[TierRule, ...]
    display: str | None = None
    type: TypeRef | None = None
    source: Expr | None = None  # the `from` expression
    missing_label: Label | None = None
    doc: str | None = None
    per: str | None = None  # `per service`: the entity level it rates
    span: Span | None = _span()
    name_span: Span | None = _span()
    per_span: Span | None = _span()


@attrs.frozen
class LimitDecl(Tree):
    tier: str
    direction: str  # "at most" or "at least"
    label: Label
    condition: Expr
    doc: str | None = None
    span: Span | None = _span()
    tier_span: Span | None = _span()


@attrs.frozen
class GivenData(Tree):
    path: str
    level: str | None = None  # `given data service "services.csv"`: the table of one level
    span: Span | None = _span()


@attrs.frozen
class GivenValue(Tree):
    name: str
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class GivenValues(Tree):
    values: tuple[GivenValue, ...]
    span: Span | None = _span()


@attrs.frozen
class Expect(Tree):
    expr: Expr
    span: Span | None = _span()


TestItem = Union[GivenData, GivenValues, Expect]


@attrs.frozen
class TestDecl(Tree):
    name: str
    items: tuple[TestItem, ...]
    span: Span | None = _span()


@attrs.frozen
class TableKey(Tree):
    """`mean_band: 1..3`, `safe: rating`: a key of a table and the values it takes."""

    name: str
    domain: TypeRef | Range  # a level type, boolean, or a whole-number range LOW..HIGH
    span: Span | None = _span()


@attrs.frozen
class TableRow(Tree):
    keys: tuple[Expr, ...]  # a Name or String (a label), Number or Boolean per key
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class TableDecl(Tree):
    """`table reward(mean_band: 1..3, spread: level low < high) { 1, low: 0.5 ... }`: a value
    for every combination of its keys. Called like a function, it is a nested `map` of its
    arguments (as_function), so evaluation, the audit and explain see a map."""

    name: str
    keys: tuple[TableKey, ...]
    rows: tuple[TableRow, ...]
    display: str | None = None
    doc: str | None = None
    span: Span | None = _span()
    name_span: Span | None = _span()

    def as_function(self, rows: tuple[TableRow, ...] | None = None) -> FunctionDecl | None:
        """The table as a function of its keys, from `rows` (default: every row); rows with the
        wrong number of keys, and repeats of a combination, are left out (the checker reports
        them and gives only the rows that fit). None if no row is left."""
        given, rows, seen = self.rows if rows is None else rows, [], set()
        for row in given:
            combination = tuple(_key_value(k) for k in row.keys)
            if len(row.keys) == len(self.keys) and combination not in seen:
                seen.add(combination)
                rows.append(row)
        if not rows:
            return None
        return FunctionDecl(self.name, tuple(k.name for k in self.keys), _nested_map(self.keys, tuple(rows)),
                            doc=self.doc, span=self.span, name_span=self.name_span)


def _nested_map(keys: tuple[TableKey, ...], rows: tuple[TableRow, ...]) -> Expr:
    """`map k1 { v: map k2 { ... } }` over the rows, keys in the order first written."""
    if not keys:
        return rows[0].value
    groups: dict = {}
    for row in rows:
        groups.setdefault(_key_value(row.keys[0]), (row.keys[0], []))[1].append(
            TableRow(row.keys[1:], row.value, span=row.span))
    cases = tuple(MapCase(key, _nested_map(keys[1:], tuple(members)), span=members[0].span)
                  for key, members in groups.values())
    return MapExpr(Name(keys[0].name, span=keys[0].span), cases, span=keys[0].span)


def _key_value(key: Expr):
    return (type(key).__name__, getattr(key, "name", None), getattr(key, "value", None))


@attrs.frozen
class MeasureAttr(Tree):
    """One attribute of a measure row: `weight 0.25`, `higher is better`, `group mortality`,
    `treated by winsorise`."""

    kind: str  # "weight", "direction", "group" or "treatment"
    value: Expr | str  # the weight (a Number or a param's Name); otherwise the word written
    span: Span | None = _span()


@attrs.frozen
class MeasureRow(Tree):
    name: str  # the input (or definition) measured
    attrs: tuple[MeasureAttr, ...]
    span: Span | None = _span()
    name_span: Span | None = _span()

    def get(self, kind: str):
        return next((a.value for a in self.attrs if a.kind == kind), None)


@attrs.frozen
class MeasuresDecl(Tree):
    """`measures outcomes { mort_ami: weight 0.5, higher is better, group mortality ... }`: each
    measure's weight, direction, group and treatment, stated once. `measures NAME group G` in an
    aggregation's arguments is lowered by the checker to `treated(m): weight` per measure."""

    name: str
    rows: tuple[MeasureRow, ...]
    display: str | None = None
    doc: str | None = None
    span: Span | None = _span()
    name_span: Span | None = _span()


Statement = Union[TypeDecl, InputDecl, ParamDecl, Definition, FunctionDecl, TierDecl, LimitDecl, TestDecl, TableDecl,
                  MeasuresDecl]


@attrs.frozen
class Module(Tree):
    """One parsed file."""

    header: Header
    statements: tuple[Statement, ...]
    path: str = attrs.field(default="<string>", eq=False)
    broken: tuple[str, ...] = attrs.field(default=(), eq=False)  # names of statements lost to syntax errors
    span: Span | None = _span()

    def named(self) -> dict[str, Statement]:
        return {s.name: s for s in self.statements if hasattr(s, "name") and not isinstance(s, TestDecl)}
