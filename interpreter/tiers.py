"""Tier assignment and limits (docs/semantics.md, "Tiers"), vectorised over entities.

Rules are tried in written order; the first that holds for an entity assigns its label:
- `>= v` (and the other comparisons) compare the `from` value, decimal-safe;
- `top N` / `bottom N` take the N highest / lowest `from` values among the entities that have
  one; every entity tied (decimal-safe) with the N-th value goes in too. `top P%` takes
  ceil(P × n) entities (decimal-safe ceiling), ties included. Rank rules look at every entity
  with a value, not only those still without a tier;
- a condition expression, true / false / missing per entity;
- `otherwise` always holds.

An entity whose `from` value is missing gets no tier (reason `component_missing`, or that of
the `from` value within the tier's own expression) and shows the `missing:` label if one is
given. A condition that is missing for an entity before any rule held makes its tier missing
the same way (this applies to condition rules of `from` tiers as well). No rule held and no
`otherwise`: no tier, reason `no_rule_held`; the `missing:` label is NOT shown for those
(it stands for missing data), their display is None.

Limits then apply in written order: `at most L` lowers entities whose tier is better than L
and whose condition holds (a missing condition does not act); `at least L` raises entities
worse than L. Entities without a tier are never changed by a limit.

Statistics recorded on the tier node: `n` (entities with a `from` value) when a rank rule is
used; for each rank rule `LABEL.count` (entities its N or P% asks for) and `LABEL.edge` (the
`from` value of the last entity taken, ties at it included); for each threshold rule
`LABEL.threshold`. A label used by several rules is suffixed with the rule's index:
`LABEL#2.edge`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsl.model import ConditionRule, Node, OtherwiseRule, RankRule, ThresholdRule
from dsl.types import level as level_type
from interpreter import numeric, ranking
from interpreter.functions.population import (
    group_names,  # groups formed exactly as population functions form them
)
from interpreter.reason_codes import NO_RULE, no_reasons
from interpreter.trace import LimitTrace, TierTrace, rule_prefix
from interpreter.values import Val, finish, to_series


def evaluate_tier(ev, node: Node, *, trace: bool = True) -> tuple[Val, TierTrace | None, dict[str, float]]:
    """The tier's value, its trace (None with `trace=False`) and its rule statistics. With
    blocks (interpreter.evaluator.Evaluator), rank rules take their entities within each block
    and the statistics are those of the first block."""
    spec = node.tier
    n = ev.n
    index = ev.index
    scale = spec.scale
    t = level_type(scale)
    stats: dict[str, float] = {}

    codes = np.full(n, np.nan)
    rule_index = np.full(n, -1, dtype=np.int64)
    reasons = no_reasons(n)
    decided = np.zeros(n, dtype=bool)

    from_values = None
    if spec.source is not None:
        source = ev.eval(spec.source)
        from_values = source.data.astype(float, copy=False)  # (never written: recorded as is)
        src_missing = source.missing
        reasons = source.codes.copy()  # 0 where present
        decided |= src_missing
        if ev.blocks > 1:  # sorted per block, missing (NaN) last
            present_sorted = np.sort(ev.block_rows(from_values), axis=1)
        else:
            present_sorted = np.sort(from_values[~src_missing])
    else:
        present_sorted = np.zeros(0)

    uses_rank = False
    for i, rule in enumerate(spec.rules):
        prefix = rule_prefix([r.label for r in spec.rules], i)
        cond = rule.condition
        if isinstance(cond, OtherwiseRule):
            holds = np.ones(n, dtype=bool)
            unknown = np.zeros(n, dtype=bool)
            unknown_reasons = None
        elif isinstance(cond, ThresholdRule):
            assert from_values is not None, f"tier {node.name}: a threshold rule needs a `from` value"
            threshold = ev.eval(cond.value)
            holds = numeric.compare(cond.op, from_values, threshold.data) & threshold.present
            unknown = threshold.missing & ~np.isnan(from_values)
            unknown_reasons = threshold.codes
            if cond.value.type.scalar:  # a per-entity threshold is recorded as its own node's values
                stats[f"{prefix}.threshold"] = float(threshold.data[0]) if n else np.nan
        elif isinstance(cond, RankRule):
            assert from_values is not None, f"tier {node.name}: a rank rule needs a `from` value"
            uses_rank = True
            if cond.within is not None:
                holds = _rank_rule_within(ev, cond, from_values, prefix, stats)
            elif ev.blocks > 1:
                holds, count, edge = _rank_rule_blocks(cond, ev.block_rows(from_values), present_sorted)
            else:
                holds, count, edge = _rank_rule(cond, from_values, present_sorted)
            unknown = np.zeros(n, dtype=bool)
            unknown_reasons = None
            if cond.within is None:
                stats[f"{prefix}.count"] = count
                stats[f"{prefix}.edge"] = edge
        elif isinstance(cond, ConditionRule):
            value = ev.eval(cond.condition)
            holds = value.present & (value.data == 1.0)
            unknown = value.missing
            unknown_reasons = value.codes
        else:  # pragma: no cover
            raise AssertionError(f"unknown tier condition {cond!r}")

        lost = ~decided & unknown
        if lost.any():
            reasons = np.where(lost, unknown_reasons, reasons)
            decided |= lost
        assign = ~decided & holds
        codes = np.where(assign, float(scale.order(rule.label)), codes)
        rule_index = np.where(assign, i, rule_index)
        decided |= assign
    if not decided.all():
        reasons = np.where(~decided, NO_RULE, reasons)
    if uses_rank:
        if ev.blocks > 1:
            stats["n"] = float(np.count_nonzero(~np.isnan(present_sorted[0])))
        else:
            stats["n"] = float(len(present_sorted))

    before_series = to_series(finish(t, codes, reasons), index) if trace else None

    limit_traces = []
    current = codes
    for j, limit in enumerate(spec.limits):
        cond = ev.eval(limit.condition)
        holds = cond.present & (cond.data == 1.0)
        target = float(scale.order(limit.label))
        has_tier = ~np.isnan(current)
        if limit.direction == "at most":
            acted = holds & has_tier & (current > target)
        else:
            acted = holds & has_tier & (current < target)
        current = np.where(acted, target, current)
        if trace:
            after = to_series(finish(t, current, reasons), index)
            limit_traces.append(LimitTrace(j, pd.Series(acted, index=index, dtype=bool), after))

    final = finish(t, current, reasons)
    if not trace:
        return final, None, stats
    label_array = np.array(list(scale.labels) + [None], dtype=object)
    shown = label_array[np.where(np.isnan(current), -1, current).astype(np.int64)]
    if spec.missing_label is not None:
        missing_data = np.isnan(current) & (final.codes != NO_RULE)
        shown = np.where(missing_data, spec.missing_label, shown)
    scores = np.full(n, np.nan) if from_values is None else from_values

    def recorded(values: np.ndarray) -> pd.Series:  # (not copied: the arrays are not written)
        return pd.Series(values, index=index, dtype="float64", copy=False)

    top = bottom = None
    if from_values is not None:
        top, bottom = map(recorded, ranking.competition_ranks_both(from_values))
    trace = TierTrace(
        rank=recorded(ranking.rank_by_tier_and_score(np.where(np.isnan(current), -1, current), scores)),
        from_rank_top=top,
        from_rank_bottom=bottom,
        from_values=None if from_values is None else recorded(from_values),
        rule_index=pd.Series(rule_index, index=index, dtype="int64", copy=False),
        before_limits=before_series,
        limits=tuple(limit_traces),
        display=pd.Series(shown.astype(object, copy=False), index=index, dtype=object, copy=False),
    )
    return final, trace, stats


def _rank_rule(rule: RankRule, values: np.ndarray, present_sorted: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Which entities a `top`/`bottom` rule takes (ties at the edge included), how many it
    asked for, and the edge value."""
    n_present = len(present_sorted)
    # `top 10%` is RankRule(count=0.1, percent=True): the share, as `10%` reads everywhere
    wanted = float(numeric.ceil(rule.count * n_present)) if rule.percent else float(rule.count)
    k = int(min(max(wanted, 0), n_present))
    if k == 0:
        return np.zeros(len(values), dtype=bool), wanted, np.nan
    if rule.direction == "top":
        edge = float(present_sorted[n_present - k])
        holds = numeric.compare(">=", values, edge)
    else:
        edge = float(present_sorted[k - 1])
        holds = numeric.compare("<=", values, edge)
    return holds, wanted, edge


def _rank_rule_within(ev, rule: RankRule, values: np.ndarray, prefix: str, stats: dict) -> np.ndarray:
    """A rank rule taken within each group of `rule.within` (block by block with blocks); an
    entity whose group is missing is taken by no such rule. Records `LABEL.count[GROUP]` and
    `LABEL.edge[GROUP]` (of the first block)."""
    names = group_names(ev.eval_ref(rule.within))
    holds = np.zeros(ev.n, dtype=bool)
    for block in range(ev.blocks):
        rows = slice(block * ev.entities, (block + 1) * ev.entities)
        block_names, block_values = names[rows], values[rows]
        for group in sorted({str(g) for g in block_names if g is not None}):
            members = np.equal(block_names, group) & ~np.isnan(block_values)
            taken, count, edge = _rank_rule(rule, block_values[members], np.sort(block_values[members]))
            part = holds[rows]
            part[np.flatnonzero(members)[taken]] = True
            if block == 0:
                stats[f"{prefix}.count[{group}]"] = count
                stats[f"{prefix}.edge[{group}]"] = edge
    return holds


def _rank_rule_blocks(rule: RankRule, values: np.ndarray, sorted_rows: np.ndarray
                      ) -> tuple[np.ndarray, float, float]:
    """_rank_rule within each block: `values` and `sorted_rows` (ascending, NaN last) are
    (blocks, entities). Gives the flat mask, and the count and edge of the first block."""
    n_present = np.count_nonzero(~np.isnan(sorted_rows), axis=1)
    wanted = numeric.ceil(rule.count * n_present) if rule.percent else np.full(len(n_present), float(rule.count))
    k = np.minimum(np.maximum(wanted, 0), n_present).astype(np.int64)
    taken = k > 0
    position = np.where(taken, n_present - k if rule.direction == "top" else k - 1, 0)
    if sorted_rows.shape[1] == 0:
        return np.zeros(values.size, dtype=bool), float(wanted[0]) if len(wanted) else np.nan, np.nan
    edge = np.where(taken, np.take_along_axis(sorted_rows, position[:, None], axis=1)[:, 0], np.nan)
    holds = numeric.compare(">=" if rule.direction == "top" else "<=", values, edge[:, None]) & taken[:, None]
    return holds.ravel(), float(wanted[0]), float(edge[0])
