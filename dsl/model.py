"""The checked methodology: what the checker produces and the interpreter consumes.

It is the single source of truth for names, kinds, types, dependencies and source
positions. Expressions here are *resolved*: every name is a `Ref` to a node or a `LabelConst`
of a level type, user functions are expanded in place, every call is a known built-in with
its options gathered, and every expression carries its type. Nothing here needs the syntax
tree or Lark.
"""

from __future__ import annotations

from typing import Union

import attrs

from dsl.errors import Diagnostic, Span
from dsl.tree import Expression, Tree
from dsl.types import LevelType, Type


def _span():
    return attrs.field(default=None, eq=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- resolved expressions


@attrs.frozen
class Const(Expression):
    value: float | bool | str | None  # None: the literal `missing` is not in the language
    type: Type
    span: Span | None = _span()


@attrs.frozen
class LabelConst(Expression):
    level: LevelType
    label: str
    type: Type
    span: Span | None = _span()


@attrs.frozen
class Ref(Expression):
    """A reference to a node (input, param, definition or tier) by name."""

    name: str
    type: Type
    span: Span | None = _span()


@attrs.frozen
class Unary(Expression):
    op: str  # "-" or "not"
    operand: Expr
    type: Type
    span: Span | None = _span()


@attrs.frozen
class Binary(Expression):
    """Arithmetic (+ - * / ^), comparison (== != < <= > >=; levels compare by order; lists
    compare element by element giving a list of booleans) or logic (and, or)."""

    op: str
    left: Expr
    right: Expr
    type: Type
    span: Span | None = _span()


@attrs.frozen
class IsMissing(Expression):
    operand: Expr
    negated: bool
    type: Type
    span: Span | None = _span()


@attrs.frozen
class IfElse(Expression):
    condition: Expr
    then: Expr
    otherwise: Expr
    type: Type
    span: Span | None = _span()


@attrs.frozen
class ListOf(Expression):
    items: tuple[Expr, ...]
    type: Type
    span: Span | None = _span()


@attrs.frozen
class Pick(Expression):
    """The value of `operand` for the entity whose key is `key` (a scalar)."""

    operand: Expr
    key: str
    type: Type
    span: Span | None = _span()


@attrs.frozen
class Call(Expression):
    """A built-in call (dsl.builtins.BUILTINS[function]).

    With `over` (an entity level name), the single argument is evaluated for every entity of
    that level and aggregated, per entity of the level the call is evaluated at, over the
    members of that entity (its descendants at the `over` level): docs/language.md, "Entities
    at several levels".

    `args` are the positional arguments with lists left as written (aggregations spread them);
    `weights` is None, or one weight expression per argument.
    `population_count` is set when `count` was given a single per-entity condition: it then
    counts entities, giving a scalar.
    """

    function: str
    args: tuple[Expr, ...]
    type: Type
    weights: tuple[Expr, ...] | None = None
    polarity: str | None = None  # "higher" or "lower"; population functions default to "higher"
    within: str | None = None  # name of the grouping node (an input or a per-entity definition)
    skip_missing: bool = False
    require: int | None = None
    normalise: bool = False
    population_count: bool = False
    over: str | None = None  # `F(x) over services`: x is per service, aggregated to each entity
    method: str | None = None  # quantile definition (a numpy.quantile method name); None: "linear"
    span: Span | None = _span()


@attrs.frozen
class MapOf(Expression):
    """`map subject { key: value, ... otherwise: value }`. Keys are label names, texts,
    numbers or booleans, matching the subject's type."""

    subject: Expr
    keys: tuple[str | float | bool, ...]
    values: tuple[Expr, ...]
    otherwise: Expr | None
    type: Type
    span: Span | None = _span()


@attrs.frozen
class BandOf(Expression):
    """`band subject { >= t: value, ... otherwise: value }`: the first case that holds wins."""

    subject: Expr
    ops: tuple[str, ...]
    thresholds: tuple[Expr, ...]
    values: tuple[Expr, ...]
    otherwise: Expr | None
    type: Type
    span: Span | None = _span()


Expr = Union[Const, LabelConst, Ref, Unary, Binary, IsMissing, IfElse, ListOf, Pick, Call, MapOf, BandOf]


# ---------------------------------------------------------------- tiers


@attrs.frozen
class ThresholdRule(Tree):
    """Compare the tier's `from` value: `>= 2.5`."""

    op: str
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class RankRule(Tree):
    """`top 5`, `bottom 5`, `top 10%` by the `from` value; ties at the edge all go in."""

    direction: str  # "top" or "bottom"
    count: float
    percent: bool
    within: str | None = None  # `top 10% within G`: taken within each group of G
    span: Span | None = _span()


@attrs.frozen
class OtherwiseRule(Tree):
    span: Span | None = _span()


@attrs.frozen
class ConditionRule(Tree):
    """Any boolean expression."""

    condition: Expr
    span: Span | None = _span()


TierCondition = Union[ThresholdRule, RankRule, OtherwiseRule, ConditionRule]


@attrs.frozen
class TierRule(Tree):
    label: str
    condition: TierCondition
    source_text: str = attrs.field(default="", eq=False)
    span: Span | None = _span()


@attrs.frozen
class Limit(Tree):
    direction: str  # "at most" or "at least"
    label: str
    condition: Expr
    source_text: str = attrs.field(default="", eq=False)
    span: Span | None = _span()


@attrs.frozen
class TierSpec(Tree):
    scale: LevelType  # worst first; "at most" compares on this order
    source: Expr | None  # the `from` value, or None for a rule-based tier
    rules: tuple[TierRule, ...]  # tried in the order written
    missing_label: str | None  # label for entities with no value; None: they have no tier
    limits: tuple[Limit, ...]  # applied in order after assignment


# ---------------------------------------------------------------- nodes

UNIFORM = "uniform"
NORMAL = "normal"
ONE_OF = "one of"


@attrs.frozen
class Distribution(Tree):
    """How a param may vary in a sensitivity analysis (docs/sensitivity.md).

    `range lo..hi` is UNIFORM with values (lo, hi); `range normal(mean, sd)` is NORMAL with
    values (mean, sd); `one of [a, b, c]` is ONE_OF with the options as plain values (numbers,
    booleans, texts or labels), equally likely."""

    kind: str  # UNIFORM, NORMAL or ONE_OF
    values: tuple
    text: str = attrs.field(default="", eq=False)  # as written: "40%..60%", "normal(50%, 5%)"


INPUT = "input"
PARAM = "param"
TIER = "tier"
DEFINITION_KINDS = ("indicator", "domain", "score", "let")
KINDS = (INPUT, PARAM, *DEFINITION_KINDS, TIER)


@attrs.frozen
class Node(Tree):
    """A named definition; becomes an audit node whose value is recorded for every entity."""

    name: str
    kind: str  # one of KINDS
    type: Type
    deps: tuple[str, ...]  # names of the nodes it reads directly, in first-use order
    label: str | None = None  # display label, e.g. "A&E 4-hour"
    doc: str | None = None
    expr: Expr | None = None  # definitions
    tier: TierSpec | None = None  # tiers
    column: str | None = None  # inputs: data column (defaults to the name)
    range: tuple[float, float] | None = None  # inputs and params
    required: bool = False  # inputs
    optional: bool = False  # inputs: the column may be absent from the data (docs/language.md)
    value: float | bool | str | None = None  # params: the declared value
    distribution: Distribution | None = None  # params: how it may vary (range, normal, one of)
    level: str | None = None  # entity level of a lower level's node; None: the top level (or scalar)
    context: str | None = None  # scalars computed over a lower level's entities: that level
    source_text: str = attrs.field(default="", eq=False)  # the declaration as written
    overrides: str | None = attrs.field(default=None, eq=False)  # file of the base definition replaced
    span: Span | None = _span()

    @property
    def is_scalar(self) -> bool:
        return self.type.scalar


@attrs.frozen
class TestGiven(Tree):
    """One given value: an input or a param set for the test."""

    name: str
    value: Expr


@attrs.frozen
class TestCase(Tree):
    name: str
    givens: tuple[TestGiven, ...]  # a one-entity table built from these values, or
    data_path: str | None  # a data file, resolved relative to the methodology file
    expects: tuple[Expr, ...]  # boolean expressions that must hold (for every entity)
    expect_texts: tuple[str, ...] = attrs.field(default=(), eq=False)
    tables: tuple[tuple[str, str], ...] = ()  # (level, data file) for the tables of lower levels
    span: Span | None = _span()


@attrs.frozen
class Override(Tree):
    name: str
    base_file: str
    file: str
    # The definitions whose value the overridden statement feeds: itself for a definition; for a
    # function, lookup table or measure table (inlined, so never a node), the nodes calling it.
    used_by: tuple[str, ...] = attrs.field(default=(), eq=False)


@attrs.frozen
class EntityLevel(Tree):
    """One level of entities: `entity service within location key service_id label name`."""

    name: str
    key: str  # data column holding the entity key (unique within the level)
    label_column: str | None
    parent: str | None  # the level it lies within; None for the top level (the rated entities)
    span: Span | None = _span()


@attrs.frozen
class Methodology(Tree):
    name: str
    version: str | None
    effective: str | None
    entity: str
    key: str  # data column holding the unique entity key
    label_column: str | None  # data column holding a display name
    doc: str | None
    path: str
    sources: tuple[tuple[str, str], ...]  # (path, text) of this file then every file it extends
    types: dict[str, LevelType] = attrs.field(eq=False)
    nodes: tuple[Node, ...]  # in dependency order: every node after the nodes it reads
    tests: tuple[TestCase, ...] = ()
    overrides: tuple[Override, ...] = ()
    warnings: tuple[Diagnostic, ...] = attrs.field(default=(), eq=False)
    # every entity level, the top level first and each level after its parent; a single-level
    # methodology has just its top level (or nothing, for a Methodology built by hand)
    levels: tuple[EntityLevel, ...] = ()

    def node(self, name: str) -> Node:
        return self._by_name()[name]

    def has(self, name: str) -> bool:
        return name in self._by_name()

    def _by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    @property
    def inputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == INPUT)

    @property
    def params(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == PARAM)

    @property
    def tiers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == TIER)

    @property
    def source_text(self) -> str:
        return self.sources[0][1]

    @property
    def is_multilevel(self) -> bool:
        return len(self.levels) > 1

    @property
    def lower_levels(self) -> tuple[EntityLevel, ...]:
        """The levels below the top, each after its parent."""
        return tuple(lv for lv in self.levels if lv.parent is not None)

    def level(self, name: str) -> EntityLevel:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(name)

    def level_nodes(self, level: str | None) -> tuple[Node, ...]:
        """The nodes evaluated per entity of `level` (None or the top level's name: the top
        level's nodes and the scalars)."""
        if level == self.entity:
            level = None
        return tuple(n for n in self.nodes if n.level == level)

    def ancestors(self, name: str) -> tuple[str, ...]:
        """The levels `name` lies within, nearest first."""
        out = []
        parent = self.level(name).parent
        while parent is not None:
            out.append(parent)
            parent = self.level(parent).parent
        return tuple(out)

    def dependents(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for d in n.deps:
                out[d].append(n.name)
        return {k: tuple(v) for k, v in out.items()}
