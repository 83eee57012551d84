"""An explanation as plain data: the derivation tree of each tier, node by node, as read from
the store (tierlang/render/explain.py shows it)."""

from __future__ import annotations

from typing import Any

import attrs

from audit.store import (
    EntityRef,
    RunInfo,
)


@attrs.frozen
class Component:
    name: str
    title: str
    weight: float | None
    value: float | None
    missing_reason: str | None
    contribution: float | None  # as recorded (schema version 7); None before
    coefficient: float | None = None  # the weight the run applied, after re-normalising


@attrs.frozen
class LimitActed:
    index: int
    direction: str
    label: str
    condition: str
    before: str | None
    after: str | None


@attrs.frozen
class TierDetail:
    label: str | None  # final: after limits, or the `missing:` label
    before_limits: str | None
    rule_index: int  # 0-based, -1 if no rule assigned the tier
    rule: dict | None  # the rule as recorded (label, kind, text, op, threshold, ...)
    from_text: str | None
    from_value: float | None
    limits: tuple[LimitActed, ...]
    next_up: dict | None  # {label, op, threshold, distance}
    ranks: tuple[dict, ...]  # {rule_index, label, direction, count, percent, rank, n, wanted, held}
    run_rank: tuple[int, int] | None = None  # (rank, entities ranked) as `tierlang run` showed it


@attrs.frozen
class MemberValue:
    name: str  # a node of the member's level that the aggregation read
    value: Any
    display: str  # as shown, with the missing reason
    missing_reason: str | None


@attrs.frozen
class Member:
    key: str
    label: str | None
    position: int  # members.position
    values: tuple[MemberValue, ...]


@attrs.frozen
class MemberGroup:
    """The members the `F(x) over LEVEL` calls of a node aggregated over one level, for this
    entity (the calls over the same level share the members: one list)."""

    over: str  # the level aggregated over
    calls: tuple[tuple[str, str], ...]  # (function, argument as text) of each call, in order
    reads: tuple[str, ...]  # nodes of the `over` level whose values are shown per member
    count: int  # members aggregated
    shown: tuple[Member, ...]  # the first `member_limit` of them, in data order
    missing: tuple[tuple[str, str, int], ...]  # (node, reason, members) over all the members

    @property
    def more(self) -> int:
        return self.count - len(self.shown)


@attrs.frozen
class NodeExplanation:
    name: str
    title: str  # display label, or the name
    label: str | None
    kind: str
    type: str
    value: Any  # plain Python value, None if missing
    display: str  # the value as shown
    missing_reason: str | None
    expression: str | None
    file: str | None
    line: int | None
    components: tuple[Component, ...]
    statistics: tuple[tuple[str, Any], ...]
    tier: TierDetail | None
    details: tuple[str, ...]  # the sentences shown under the node, in order
    children: tuple[NodeExplanation, ...]
    see_above: bool = False
    # shown further down as a tree of its own: the chain of definitions is deeper than
    # MAX_TREE_DEPTH (a tree that deep is unreadable, and would exhaust Python's stack)
    see_below: bool = False
    level: str | None = None  # the lower level the node is evaluated at; None: the top level
    members: tuple[MemberGroup, ...] = ()  # what its `over` aggregations read, member by member
    doc: str | None = None  # its docstring (the ASSUMPTION notes auditors need)


@attrs.frozen
class Explanation:
    run: RunInfo
    entity: EntityRef
    headline: str  # name of the headline tier (the run's last tier)
    roots: tuple[NodeExplanation, ...]  # the headline tier first, then any other tier not shown
    robustness: str | None = None  # from the run's latest sensitivity analysis (audit.analyses)
    within: tuple[EntityRef, ...] = ()  # a lower level's entity: the entities it lies within
    levels: tuple[str, ...] = ()  # the run's lower levels (empty for a single-level run)
    # the run's hashes checked against its stored rows (audit.integrity.check_run): the
    # problems found, none when it verifies
    verification: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()  # the methodology's and data's sha256, how to recompute
    overrides: tuple[tuple[str, Any, Any], ...] = ()  # (param, declared, used) set for this run

    @property
    def headline_node(self) -> NodeExplanation:
        return self.roots[0]

    @property
    def frame(self):
        """The derivation as a DataFrame, one row per node shown (audit.tables)."""
        from audit.tables import explanation_frame

        return explanation_frame(self)

    @property
    def components(self):
        """Every weighted component of the derivation, with its contribution (audit.tables)."""
        from audit.tables import components_frame

        return components_frame(self)
