"""What an evaluation produces, node by node: the contract between interpreter and audit.

Value representation (pandas, indexed by entity key, one row per entity, float64 throughout):
- number:  float64 Series; NaN is missing.
- boolean: pandas nullable "boolean" Series; <NA> is missing.
- level:   ordered Categorical Series whose categories are the level's labels, worst first;
           NaN is missing. (Tiers use their scale; the `missing:` label, if any, is NOT a
           category: entities without a value keep NaN in `values` and the label appears in
           `TierTrace.display`.)
- text:    object Series of str; None is missing.
- list:    object Series of tuples (one tuple of plain Python values per entity).
A scalar node has the same Series with one value repeated for every entity, and its value in
`scalars["value"]`.

Missing reasons: for every missing value a code from REASONS, else None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import attrs
import numpy as np
import pandas as pd

from dsl.model import EntityLevel, Methodology, Node

INPUT_MISSING = "input_missing"  # the data cell was empty
COMPONENT_MISSING = "component_missing"  # a value it depends on is missing
DIVISION_BY_ZERO = "division_by_zero"
BELOW_REQUIRE = "below_require"  # fewer present components than `require N`
OUT_OF_DOMAIN = "out_of_domain"  # log/sqrt/geometric mean of a value outside the domain
NO_RULE = "no_rule_held"  # no tier condition held and there is no `otherwise`
NOT_IN_DATA = "key_not_in_data"  # `x for "KEY"` named a key that is not in the data
EXCLUDED = "excluded"  # `only(x, condition)`: the condition did not hold (false or missing)
NO_MEMBERS = "no_members"  # `mean(x) over services` for an entity with no services
COLUMN_ABSENT = "column_absent"  # an `optional` input whose column the data does not have
REASONS = (INPUT_MISSING, COMPONENT_MISSING, DIVISION_BY_ZERO, BELOW_REQUIRE, OUT_OF_DOMAIN, NO_RULE,
           NOT_IN_DATA, EXCLUDED, NO_MEMBERS, COLUMN_ABSENT)


def rule_prefix(labels, i: int) -> str:
    """The name the statistics of a tier's rule `i` are recorded under (interpreter.tiers):
    its label, or `LABEL#i` when several of the rules (`labels`, in order) assign the label."""
    label = labels[i]
    return label if list(labels).count(label) == 1 else f"{label}#{i}"


@attrs.frozen
class LimitTrace:
    index: int  # position of the limit among the tier's limits
    acted: pd.Series  # boolean per entity: the limit changed the tier
    after: pd.Series  # the tier after this limit (categorical, like values)


@attrs.frozen
class TierTrace:
    from_values: pd.Series | None  # the `from` value (float64), None for rule-based tiers
    rule_index: pd.Series  # int64 per entity: index of the rule that assigned the tier, -1 if none
    before_limits: pd.Series  # the tier as assigned by the rules (categorical)
    limits: tuple[LimitTrace, ...]
    display: pd.Series  # object: final label, or the `missing:` label, or None
    # interpreter.ranking, the one tie rule: the rank `run` shows (by tier, then the `from`
    # value; float, NaN without a tier), and the competition rank of the `from` value among the
    # entities that have one, from the top and from the bottom (what `top N` / `bottom N` took)
    rank: pd.Series | None = None
    from_rank_top: pd.Series | None = None
    from_rank_bottom: pd.Series | None = None


@attrs.frozen
class ComponentTrace:
    """The components of a node that is one additive aggregation (`sum`, `mean`,
    `weighted_mean`), per entity: each component's weight as the run used it, its effective
    coefficient (after `normalise`, `skip missing` and `require` re-normalised the weights) and
    its contribution (coefficient x value), so that the contributions of an entity add up to
    the node's value. Arrays are (entities x components); NaN where a component is missing or
    the node's value is."""

    names: tuple[str, ...]  # each component as written (a list's items spread)
    values: np.ndarray
    weights: np.ndarray
    coefficients: np.ndarray
    contributions: np.ndarray


@attrs.frozen
class BranchTrace:
    """Which branch a node's `if` (or `max` / `min`) took for each entity: "then" / "else", or
    the name of the component `max` / `min` gave; None where the choice was missing. For an
    `if` whose condition compares two values, the two values compared (float, NaN if
    missing)."""

    taken: pd.Series  # object
    left: pd.Series | None = None
    right: pd.Series | None = None
    op: str | None = None


@attrs.frozen
class Statistic:
    """One statistic a node used (a population call's, or a tier rule's), typed: what explain
    and diff read instead of taking `NodeTrace.scalars` names apart. Its value is
    `scalars[key]`."""

    key: str  # its name in NodeTrace.scalars: `cut_1`, `zscore#2.mean[North]`, `gold.edge`
    shown: str  # the key without its `within` group: `cut_1`, `zscore#2.mean`
    name: str  # the statistic: cut, mean, sd, n, value, min, max, low, high, count, edge, threshold
    index: int | None = None  # the cut's number (cut_2: 2)
    group: str | None = None  # the `within` group it was computed for
    call: str | None = None  # the function that computed it (None: a tier rule's)
    prefix: str | None = None  # how `shown` names the call when the node has several: zscore#2
    rule: str | None = None  # a tier rule's statistic: the rule's label (LABEL#i if repeated)


@attrs.frozen
class NodeTrace:
    """`values` and `reasons` may be given as None with `series`, a function returning both,
    and `components` and `branch` as functions returning them: the interpreter builds a
    node's Series and arrays only when something reads them."""

    node: Node
    _values: pd.Series | None = attrs.field(alias="values")
    _reasons: pd.Series | None = attrs.field(alias="reasons")  # object: a REASONS code where values are missing, else None
    scalars: dict[str, float | str] = attrs.field(factory=dict)  # statistics used: cut points, mean, sd...
    tier: TierTrace | None = None
    _components: ComponentTrace | Callable[[], ComponentTrace] | None = attrs.field(default=None, alias="components")
    _branch: BranchTrace | Callable[[], BranchTrace] | None = attrs.field(default=None, alias="branch")
    statistics: tuple[Statistic, ...] = ()  # scalars' statistics, typed
    # the score an index ranks by (a level without tiers: interpreter.ranking.index_score): each
    # entity's rank by it, highest first, under the one tie rule (float; NaN without a score)
    rank: pd.Series | None = None
    _series: Callable[[], tuple[pd.Series, pd.Series]] | None = attrs.field(
        default=None, kw_only=True, alias="series", repr=False, eq=False)

    @property
    def values(self) -> pd.Series:
        if self._values is None:
            self._build()
        return self._values

    @property
    def reasons(self) -> pd.Series:
        if self._reasons is None:
            self._build()
        return self._reasons

    @property
    def components(self) -> ComponentTrace | None:
        if callable(self._components):
            object.__setattr__(self, "_components", self._components())
        return self._components

    @property
    def branch(self) -> BranchTrace | None:
        if callable(self._branch):
            object.__setattr__(self, "_branch", self._branch())
        return self._branch

    def _build(self) -> None:
        values, reasons = self._series()
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_reasons", reasons)
        object.__setattr__(self, "_series", None)


class Tracer(Protocol):
    """Receives every node as soon as it is evaluated (in dependency order)."""

    def on_node(self, trace: NodeTrace) -> None: ...


@attrs.frozen
class LevelResult:
    """The entities of one lower level (docs/language.md, "Entities at several levels") and
    the values of the nodes evaluated per entity of that level."""

    level: EntityLevel
    keys: pd.Index  # entity keys of this level, in data order
    labels: pd.Series | None  # display names, if the level names a label column
    parents: pd.Series  # object: the key of each entity's parent (at level.parent), by key
    traces: dict[str, NodeTrace]  # the nodes of this level, in evaluation order


@attrs.frozen
class RunResult:
    methodology: Methodology
    keys: pd.Index  # entity keys, in data order
    labels: pd.Series | None  # entity display names, if the methodology names a label column
    params: dict[str, float | bool | str]  # parameter values used (declared, or overridden)
    traces: dict[str, NodeTrace]  # every node of the top level (and every scalar), in evaluation order
    # the lower levels by name, each after its parent; empty for a single-level methodology
    members: dict[str, LevelResult] = attrs.field(factory=dict)
    # what the params used change that is not an error (dsl.constants: weights that no longer
    # sum to 100% in a `weighted_mean(..., normalise)`), as sentences
    notes: tuple[str, ...] = ()

    def values(self, name: str) -> pd.Series:
        return self.traces[name].values
