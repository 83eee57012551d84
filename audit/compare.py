"""Outcome diff and attribution of two recorded runs, read from the audit store alone.

    from audit.compare import compare, render_text, to_json
    comparison = compare(store, old_run, new_run, structural=dsl.diff.diff(old, new))

Nothing is evaluated: every number comes from the two runs' recorded values, weights, tier
steps and population statistics. What is computed here is only what compares them:

- the **tier transition matrix** (old tier x new tier counts over the entities in both runs,
  labels best first, then the `missing:` label and `(no tier)`), how many moved up and down;
- **rank correlations** of the final scores (the headline tier's `from` values): Spearman (the
  Pearson correlation of average ranks) and Kendall's tau-b;
- the **movers** (entities whose headline tier changed), largest move first, with old and new
  score, tier and rank (rank as `tierlang run` shows it: by tier, then score);
- for each mover, the **attribution** of its score change to the changes that caused it.

Attribution (docs/diff.md gives the derivation). Starting at the headline tier's `from` node,
the score change is walked down the tree. At a weighted aggregation (`mean`, `weighted_mean`,
`sum` with recorded weights) the value is s = sum_i p_i x_i, p_i the effective coefficient of
component i (its weight, re-normalised over the components present as the semantics say), so
with midpoint averages (p̄, x̄) the change splits exactly:

    Δs = sum_i  x̄_i Δp_i   (weight effect: the weights changed)
              + p̄_i Δx_i   (value effect: the component's value changed; walked into)

and a component present in one run only contributes its whole p x (added, removed or gone
missing). A node that is not such an aggregation and whose definition changed takes its whole
share; one whose definition did not change passes its share to its single changed numeric
dependency (scaled by Δnode / Δdependency), or else assigns it to the root causes of the
dependencies that changed. Causes are named after the structural changes (`dsl.diff`) where
there are any, else after the parameter values used, the input data, or population
statistics. The parts of one entity sum to its score change (within float rounding).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import attrs
import numpy as np
import pandas as pd

from audit.explain import format_number
from audit.recorder import now_iso
from audit.seals import seal_record
from audit.store import (
    AuditError,
    AuditStore,
    NodeInfo,
    RunInfo,
    begin_write,
    decode_value,
    installed_version,
)
from dsl.diff import StructuralDiff
from dsl.escaping import csv_text

UNRATED = "(no tier)"
_ARROW = "→"


# ---------------------------------------------------------------- results


@attrs.frozen
class Part:
    """One piece of an entity's score change."""

    cause: str  # cause id: change:NAME, param:NAME, data:NAME, population:NAME, value:NAME, or
    #             several joined with " + "
    text: str  # the cause in words
    node: str  # where the piece was found
    component: str | None  # the aggregation's component, for weight and component effects
    effect: str  # weight, component, definition, via
    amount: float


@attrs.frozen
class Cause:
    cause: str
    text: str
    amount: float


@attrs.frozen
class Attribution:
    score_change: float | None  # None when either score is missing
    parts: tuple[Part, ...]  # in the order found, walking down from the score
    causes: tuple[Cause, ...]  # parts summed per cause, largest first
    tier_causes: tuple[str, ...]  # what else moved the tier: rules, thresholds, limits, ranks
    changed_nodes: tuple[str, ...]  # nodes on the path to the tier whose value changed

    @property
    def total(self) -> float:
        return math.fsum(p.amount for p in self.parts)


@attrs.frozen
class EntityDiff:
    key: str
    label: str | None
    old_tier: str | None
    new_tier: str | None
    move: int | None  # steps up the scale (negative: down); None when not comparable
    old_score: float | None
    new_score: float | None
    old_rank: int | None
    new_rank: int | None
    attribution: Attribution | None

    @property
    def score_change(self) -> float | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score

    @property
    def title(self) -> str:
        return f"{self.label} ({self.key})" if self.label and self.label != self.key else self.key

    def rank_summary(self) -> str:
        """`Dorset (41): rank 4 → 2: cause (+0.21)`: an index's mover."""
        old, new = ("-" if r is None else str(r) for r in (self.old_rank, self.new_rank))
        head = f"{self.title}: rank {old} {_ARROW} {new}"
        a = self.attribution
        parts = [f"{c.text} ({_signed(c.amount)})" for c in a.causes] if a is not None else []
        return head + (": " + ", ".join(parts) if parts else "")

    def summary(self) -> str:
        """`Dorset (41): advanced → outstanding: cause (+0.21), cause (-0.03)`."""
        head = f"{self.title}: {self.old_tier or UNRATED} {_ARROW} {self.new_tier or UNRATED}"
        a = self.attribution
        if a is None:
            return head
        parts = [f"{c.text} ({_signed(c.amount)})" for c in a.causes]
        parts += list(a.tier_causes)
        return head + (": " + ", ".join(parts) if parts else "")


@attrs.frozen
class ParamChange:
    name: str
    old: Any  # the value used in the old run
    new: Any
    old_declared: Any  # the value the methodology declares
    new_declared: Any

    @property
    def overridden(self) -> bool:
        """A value used is not the declared one (`--param`)."""
        return self.old != self.old_declared or self.new != self.new_declared


@attrs.frozen
class Comparison:
    old: RunInfo
    new: RunInfo
    old_tier: str | None  # headline tier names
    new_tier: str | None
    rows: tuple[str, ...]  # old tier labels, best first (then the missing label, UNRATED)
    columns: tuple[str, ...]  # new tier labels
    counts: tuple[tuple[int, ...], ...]  # rows x columns
    common: int  # entities in both runs
    only_old: tuple[str, ...]  # keys
    only_new: tuple[str, ...]
    up: int
    down: int
    same: int
    other: int  # tier changed but not comparable on a scale (to or from no tier, other labels)
    spearman: float | None
    kendall: float | None
    correlated: int  # entities with a score in both runs
    movers: tuple[EntityDiff, ...]
    params: tuple[ParamChange, ...]  # params (in both runs) whose value used differs between the
    #                                  runs or from the declared value (`--param`)
    entities: tuple[EntityDiff, ...] = ()  # every common entity, when asked for (attribute="all")
    # two runs without tiers (indices): the score each ranks by; entities move by rank
    ranked_by: tuple[str | None, str | None] | None = None

    @property
    def moved(self) -> int:
        return self.up + self.down + self.other


# ---------------------------------------------------------------- reading a run


@attrs.define
class _Run:
    info: RunInfo
    nodes: dict[str, NodeInfo]
    keys: list[str]
    labels: list[str | None]
    index: dict[str, int]
    cells: list[list[Any]]  # per entity, per node position: value (None when missing)
    reasons: list[list[str | None]]
    scalars: dict[str, dict[str, Any]]
    tier: NodeInfo | None
    display: list[str | None]
    final: list[str | None]  # the tier's value (a label of its scale, None when missing)
    scores: np.ndarray  # from values (NaN when missing)
    rule_index: list[int]
    limits_acted: list[tuple[int, ...]]
    ranks: list[int | None]
    from_node: str | None
    # per entity: the recorded (run rank, `from` rank from the top, from the bottom)
    recorded_ranks: dict[int, tuple] = attrs.field(factory=dict)
    store: AuditStore | None = None  # the store the run is read from (its recorded facts)

    def cell(self, e: int, name: str) -> Any:
        node = self.nodes.get(name)
        if node is None or node.position >= self.info.values_per_entity:
            return None
        return self.cells[e][node.position]

    def has_values(self, name: str) -> bool:
        node = self.nodes.get(name)
        return node is not None and node.position < self.info.values_per_entity

    def number(self, e: int, name: str) -> float | None:
        v = self.cell(e, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        return None if math.isnan(v) else float(v)

    @property
    def scale_best_first(self) -> list[str]:
        return list(reversed(self.tier.scale or ())) if self.tier is not None else []

    @property
    def missing_label(self) -> str | None:
        return (self.tier.tier or {}).get("missing_label") if self.tier is not None else None


def _read_run(store: AuditStore, run_id: int) -> _Run:
    info = store.run(run_id)
    nodes = {n.name: n for n in store.nodes(run_id)}
    entities = store.entities(run_id)
    keys = [e.key for e in entities]
    stride = info.values_per_entity
    bases = [None] * stride
    for n in nodes.values():
        if n.position < stride:
            bases[n.position] = n.base
    cells = [[None] * stride for _ in keys]
    reasons = [[None] * stride for _ in keys]
    if stride and keys:
        first = info.first_value_id or 0
        last = first + len(keys) * stride - 1
        for entity, node, num, text, boolean, reason in store.conn.execute(
            "SELECT entity, node, num, text, bool, missing_reason FROM node_values "
            "WHERE id BETWEEN ? AND ?",
            (first, last),
        ):
            cells[entity][node] = decode_value(bases[node], num, text, boolean)
            reasons[entity][node] = reason
    tiers = [n for n in nodes.values() if n.kind == "tier" and n.level is None]  # the top level's
    tier = max(tiers, key=lambda n: n.position) if tiers else None
    n = len(keys)
    display: list[str | None] = [None] * n
    rule_index = [-1] * n
    acted: list[tuple[int, ...]] = [()] * n
    scores = np.full(n, np.nan)
    final: list[str | None] = [None] * n
    from_node = None
    recorded_index = None
    if tier is not None:
        for step in store.tier_steps(run_id, tier.name):
            display[step.entity] = step.display
            rule_index[step.entity] = step.rule_index
            acted[step.entity] = step.limits_acted
            if step.from_value is not None:
                scores[step.entity] = step.from_value
        if tier.position < stride:
            final = [row[tier.position] for row in cells]
        from_text = (tier.tier or {}).get("from")
        if from_text is not None and from_text.strip() in nodes:
            from_node = from_text.strip()
    else:  # no tier: an index, ranked by the score whose ranks the run recorded
        recorded_index = store.index_ranks(run_id)
        if recorded_index is not None:
            from_node = recorded_index[0]
        else:  # a run recorded before index ranks were: its last per-entity score, no ranks
            index = [v for v in nodes.values() if v.kind == "score" and v.level is None and v.base == "number"
                     and not v.scalar and v.position < stride]
            from_node = max(index, key=lambda v: v.position).name if index else None
        if from_node is not None and nodes[from_node].position < stride:
            position = nodes[from_node].position
            scores = np.array([np.nan if row[position] is None else float(row[position]) for row in cells])
    run = _Run(info, nodes, keys, [e.label for e in entities], {k: i for i, k in enumerate(keys)},
               cells, reasons, store.scalars(run_id), tier, display, final, scores, rule_index,
               acted, [], from_node)
    # the ranks as the interpreter recorded them (interpreter.ranking; a run recorded before
    # audit schema version 7 has none, and none is shown)
    run.recorded_ranks = store.tier_ranks(run_id, tier.name) if tier is not None else {}
    run.store = store
    run.ranks = [run.recorded_ranks.get(e, (None,))[0] for e in range(n)]
    if tier is None and recorded_index is not None:  # an index: the ranks the run recorded
        run.ranks = [recorded_index[1].get(e) for e in range(n)]
    return run


# ---------------------------------------------------------------- rank correlation


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho: Pearson's correlation of the average ranks (ties share their mean
    rank). None with fewer than two pairs or a constant side."""
    if len(x) < 2:
        return None
    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denominator = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if denominator == 0:
        return None
    return float((dx * dy).sum() / denominator)


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float | None:
    """Kendall's tau-b, (C - D) / sqrt((n0 - n1)(n0 - n2)), in O(n log^2 n) with numpy: D is
    the number of inversions of y once pairs are sorted by (x, y) (Knight's method), counted
    level by level of a bottom-up merge sort. None with fewer than two pairs or a constant
    side."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 2:
        return None
    n0 = n * (n - 1) // 2
    _, xr = np.unique(x, return_inverse=True)
    _, yr = np.unique(y, return_inverse=True)
    n1 = _tied_pairs(xr)
    n2 = _tied_pairs(yr)
    n3 = _tied_pairs(xr * (int(yr.max()) + 1) + yr)
    if n0 in (n1, n2):
        return None
    order = np.lexsort((yr, xr))
    discordant = _inversions(yr[order])
    concordant_minus_discordant = n0 - n1 - n2 + n3 - 2 * discordant
    return float(concordant_minus_discordant / math.sqrt((n0 - n1) * (n0 - n2)))


def _tied_pairs(codes: np.ndarray) -> int:
    counts = np.bincount(codes.astype(np.int64))
    return int((counts * (counts - 1) // 2).sum())


def _inversions(a: np.ndarray) -> int:
    """Pairs i < j with a[i] > a[j] (strictly), by a vectorised bottom-up merge sort."""
    a = np.asarray(a, dtype=np.int64).copy()
    n = len(a)
    total = 0
    width = 1
    idx = np.arange(n)
    while width < n:
        block = idx // (2 * width)
        side = (idx // width) % 2  # 0: left half of its block, 1: right half
        # sort each block by value, left before right among equals (equal is not an inversion)
        order = np.lexsort((side, a, block))
        s_side, s_block = side[order], block[order]
        is_left = (s_side == 0).astype(np.int64)
        cum = np.cumsum(is_left)
        starts = np.searchsorted(s_block, s_block, side="left")
        before_block = np.where(starts > 0, cum[starts - 1], 0)
        left_upto = cum - before_block  # left elements of the block up to this position
        left_total = np.bincount(block[side == 0], minlength=int(block.max()) + 1)
        right = s_side == 1
        total += int((left_total[s_block[right]] - left_upto[right]).sum())
        a = a[order]
        width *= 2
    return total


# ---------------------------------------------------------------- comparing


def compare(
    store: AuditStore,
    old_run: int,
    new_run: int,
    structural: StructuralDiff | None = None,
    allow_different_entities: bool = False,
    attribute: str = "movers",
) -> Comparison:
    """Compare two recorded runs. `structural` names the causes (changed nodes); without it
    causes are named after values only. `attribute`: "movers" (entities whose tier changed)
    or "all" (every common entity, also returned in `Comparison.entities`)."""
    if attribute not in ("movers", "all"):
        raise ValueError(f"attribute must be 'movers' or 'all', not {attribute!r}")
    old, new = _read_run(store, old_run), _read_run(store, new_run)
    only_old = tuple(k for k in old.keys if k not in new.index)
    only_new = tuple(k for k in new.keys if k not in old.index)
    if (only_old or only_new) and not allow_different_entities:
        kind = old.info.entity_kind or "entity"
        raise AuditError(
            f"runs {old_run} and {new_run} are on different sets of {kind} entities "
            f"({len(only_old)} only in run {old_run}{_examples(only_old)}, {len(only_new)} only in "
            f"run {new_run}{_examples(only_new)}); compare them anyway with "
            "--allow-different-entities (the comparison then covers the entities in both)"
        )
    common = [k for k in new.keys if k in old.index]
    attributor = _Attributor(old, new, structural)
    rows, columns, counts = _transitions(old, new, common)
    up = down = same = other = 0
    diffs: list[EntityDiff] = []
    everyone: list[EntityDiff] = []
    xs, ys = [], []
    # two indices (no tiers, a per-entity score): entities move by rank
    ranked = old.tier is None and new.tier is None and (old.from_node or new.from_node) is not None
    for key in common:
        eo, en = old.index[key], new.index[key]
        ot, nt = old.display[eo], new.display[en]
        if ranked:
            ro, rn = old.ranks[eo], new.ranks[en]
            move = None if ro is None or rn is None else ro - rn  # places up (positive) or down
            changed = ro != rn
        else:
            move = _move(old, new, ot, nt)
            changed = ot != nt
        if not changed:
            same += 1
        elif move is None or move == 0:
            other += 1
        elif move > 0:
            up += 1
        else:
            down += 1
        so, sn = old.scores[eo], new.scores[en]
        if not np.isnan(so) and not np.isnan(sn):
            xs.append(so)
            ys.append(sn)
        mover = changed
        if mover or attribute == "all":
            d = EntityDiff(
                key, new.labels[en] if new.labels[en] is not None else old.labels[eo], ot, nt,
                None if not changed else move,
                None if np.isnan(so) else float(so), None if np.isnan(sn) else float(sn),
                old.ranks[eo], new.ranks[en], attributor.entity(eo, en),
            )
            if mover:
                diffs.append(d)
            if attribute == "all":
                everyone.append(d)
    diffs.sort(key=lambda d: (-abs(d.move) if d.move is not None else 0.5,
                              -abs(d.score_change or 0.0), new.index[d.key]))
    x, y = np.array(xs), np.array(ys)
    return Comparison(
        old=old.info, new=new.info, old_tier=old.tier.name if old.tier else None,
        new_tier=new.tier.name if new.tier else None, rows=rows, columns=columns, counts=counts,
        common=len(common), only_old=only_old, only_new=only_new, up=up, down=down, same=same,
        other=other, spearman=spearman(x, y), kendall=kendall_tau_b(x, y), correlated=len(x),
        movers=tuple(diffs), params=attributor.params_list(),
        entities=tuple(everyone), ranked_by=(old.from_node, new.from_node) if ranked else None,
    )


def _examples(keys: tuple[str, ...]) -> str:
    if not keys:
        return ""
    shown = ", ".join(keys[:5])
    return f": {shown}{', ...' if len(keys) > 5 else ''}"


def _transitions(old: _Run, new: _Run, common: list[str]):
    def axis(run: _Run, present: set) -> list[str]:
        labels = run.scale_best_first
        extra = run.missing_label
        if extra and extra not in labels:
            labels.append(extra)
        labels += sorted(v for v in present if v is not None and v not in labels)
        if None in present:
            labels.append(UNRATED)
        return labels

    old_values = [old.display[old.index[k]] for k in common]
    new_values = [new.display[new.index[k]] for k in common]
    rows = axis(old, set(old_values))
    columns = axis(new, set(new_values))
    r = {label: i for i, label in enumerate(rows)}
    c = {label: i for i, label in enumerate(columns)}
    counts = [[0] * len(columns) for _ in rows]
    for a, b in zip(old_values, new_values):
        counts[r[a if a is not None else UNRATED]][c[b if b is not None else UNRATED]] += 1
    return tuple(rows), tuple(columns), tuple(tuple(row) for row in counts)


def _move(old: _Run, new: _Run, a: str | None, b: str | None) -> int | None:
    """Steps up (positive) or down the scale; None when the two labels are not on one scale."""
    if a is None or b is None:
        return None if a != b else 0
    for scale in (list(new.tier.scale or ()) if new.tier else [], list(old.tier.scale or ()) if old.tier else []):
        if a in scale and b in scale:
            return scale.index(b) - scale.index(a)
    return None


# ---------------------------------------------------------------- attribution


class _Attributor:
    def __init__(self, old: _Run, new: _Run, structural: StructuralDiff | None):
        self.old, self.new = old, new
        self.changes = structural.node_changes() if structural is not None else {}
        self.param_changes: dict[str, tuple[Any, Any]] = {}
        for name, node in new.nodes.items():
            if node.kind == "param" and name in old.nodes and name in old.info.params \
                    and name in new.info.params:
                a, b = old.info.params[name], new.info.params[name]
                if a != b:
                    self.param_changes[name] = (a, b)
        self.stats_changed = set()
        for name in set(old.scalars) | set(new.scalars):
            a = {k: v for k, v in old.scalars.get(name, {}).items() if k != "value"}
            b = {k: v for k, v in new.scalars.get(name, {}).items() if k != "value"}
            if a != b:
                self.stats_changed.add(name)
        self.texts: dict[str, str] = {}
        self.path: list[str] | None = None  # the nodes the headline tier depends on, in order

    def params_list(self) -> tuple[ParamChange, ...]:
        out = []
        for name, node in self.new.nodes.items():
            if node.kind != "param" or name not in self.old.nodes:
                continue
            used_old = self.old.info.params.get(name, self.old.nodes[name].declared_value)
            used_new = self.new.info.params.get(name, node.declared_value)
            change = ParamChange(name, used_old, used_new, self.old.nodes[name].declared_value,
                                 node.declared_value)
            if change.old != change.new or change.overridden:
                out.append(change)
        return tuple(out)

    # -- causes
    def cause_text(self, cause: str) -> str:
        if cause in self.texts:
            return self.texts[cause]
        kind, _, name = cause.partition(":")
        if kind == "change":
            text = self.changes[name].cause
        elif kind == "param":
            a, b = self.param_changes[name]
            text = f"param {name} {_value(a)} {_ARROW} {_value(b)} (as run)"
        elif kind == "data":
            text = f"data of input {name} differ"
        elif kind == "population":
            text = f"population statistics of {name} changed"
        else:
            text = f"{name} changed"
        self.texts[cause] = text
        return text

    def joint(self, causes: set[str]) -> tuple[str, str]:
        ordered = sorted(causes)
        cid = " + ".join(ordered)
        return cid, " + ".join(self.cause_text(c) for c in ordered)

    # -- per entity
    def entity(self, eo: int, en: int) -> Attribution:
        ctx = _Entity(self, eo, en)
        return ctx.attribution()


class _Entity:
    """The attribution of one entity's change (old position eo, new position en)."""

    def __init__(self, a: _Attributor, eo: int, en: int):
        self.a, self.old, self.new = a, a.old, a.new
        self.eo, self.en = eo, en
        self.parts: list[Part] = []
        self.memo: dict[str, frozenset[str]] = {}
        self.changed_memo: dict[str, bool] = {}

    # -- values
    def changed(self, name: str) -> bool:
        if name not in self.changed_memo:
            in_old, in_new = self.old.has_values(name), self.new.has_values(name)
            if in_old != in_new:
                result = True
            elif not in_old:
                result = False
            else:
                result = self.old.cell(self.eo, name) != self.new.cell(self.en, name)
            self.changed_memo[name] = result
        return self.changed_memo[name]

    def deps(self, name: str) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for run in (self.new, self.old):
            node = run.nodes.get(name)
            if node is not None:
                out.update(dict.fromkeys(node.dependencies))
        return tuple(out)

    def root(self, name: str) -> frozenset[str]:
        """Why `name`'s value changed for this entity: the cause ids found below it."""
        if name in self.memo:
            return self.memo[name]
        self.memo[name] = frozenset()  # guards against cycles
        a = self.a
        node = self.new.nodes.get(name) or self.old.nodes.get(name)
        if name in a.changes:
            result = {f"change:{name}"}
        elif name not in self.new.nodes or name not in self.old.nodes:
            result = {f"value:{name}"}
        elif node.kind == "param" and name in a.param_changes:
            result = {f"param:{name}"}
        elif node.kind == "input":
            result = {f"data:{name}"}
        else:
            result = set()
            for d in self.deps(name):
                if self.changed(d):
                    result |= self.root(d)
            if name in a.stats_changed:
                result.add(f"population:{name}")
            if not result:
                result = {f"value:{name}"}
        self.memo[name] = frozenset(result)
        return self.memo[name]

    def add(self, causes: set[str] | frozenset[str], node: str, component: str | None, effect: str,
            amount: float) -> None:
        if amount == 0:
            return
        cid, text = self.a.joint(set(causes))
        self.parts.append(Part(cid, text, node, component, effect, amount))

    # -- the walk
    def attribution(self) -> Attribution:
        so, sn = self.old.scores[self.eo], self.new.scores[self.en]
        score_change = None
        if not np.isnan(so) and not np.isnan(sn):
            score_change = float(sn - so)
            if score_change != 0:
                self.score(float(so), float(sn))
        causes: dict[str, list] = {}
        for p in self.parts:
            entry = causes.setdefault(p.cause, [p.text, []])
            entry[1].append(p.amount)
        summed = [Cause(cid, text, math.fsum(amounts)) for cid, (text, amounts) in causes.items()]
        summed.sort(key=lambda c: (-abs(c.amount), c.cause))
        return Attribution(score_change, tuple(self.parts), tuple(summed), tuple(self.tier_causes()),
                           tuple(self.changed_path()))

    def score(self, so: float, sn: float) -> None:
        old_from, new_from = self.old.from_node, self.new.from_node
        tier = self.new.tier.name if self.new.tier is not None else None
        delta = sn - so
        if old_from is not None and old_from == new_from:
            self.walk(new_from, 1.0)
            return
        if tier is not None and tier in self.a.changes and (
                (self.old.tier.tier or {}).get("from") != (self.new.tier.tier or {}).get("from")):
            self.add({f"change:{tier}"}, tier, None, "definition", delta)
            return
        # a `from` expression (round(x, 3) ...): its names, as a node without a definition
        names = [n for n in _names((self.new.tier.tier or {}).get("from") or "")
                 if n in self.new.nodes and n in self.old.nodes]
        self.leaf(tier or "from", names, delta, 1.0, so, sn)

    def walk(self, name: str, scale: float) -> None:
        """Attribute scale x Δname."""
        x0, x1 = self.old.number(self.eo, name), self.new.number(self.en, name)
        if x0 is None or x1 is None or x0 == x1:
            return
        delta = x1 - x0
        if self.aggregation(name, scale, x0, x1):
            return
        if name in self.a.changes:
            self.add({f"change:{name}"}, name, None, "definition", scale * delta)
            return
        self.leaf(name, list(self.deps(name)), delta, scale, x0, x1)

    def leaf(self, name: str, deps: list[str], delta: float, scale: float, x0: float, x1: float) -> None:
        changed = [d for d in deps if self.changed(d)]
        population = name in self.a.stats_changed
        if len(changed) == 1 and not population:
            d = changed[0]
            d0, d1 = self.old.number(self.eo, d), self.new.number(self.en, d)
            if d0 is not None and d1 is not None and abs(d1 - d0) > 1e-12 * max(1.0, abs(d0), abs(d1)):
                self.walk(d, scale * delta / (d1 - d0))
                return
        causes: set[str] = set()
        for d in changed:
            causes |= self.root(d)
        if population:
            causes.add(f"population:{name}")
        if not causes:  # an input (data), a param (as run), or a value without a known cause
            causes = set(self.root(name))
        self.add(causes, name, None, "via", scale * delta)

    def aggregation(self, name: str, scale: float, s0: float, s1: float) -> bool:
        """Decompose a weighted aggregation exactly; False if `name` is not one in both runs."""
        old = _coefficients(self.old, self.eo, name, s0)
        new = _coefficients(self.new, self.en, name, s1)
        if old is None or new is None:
            return False
        (p_old, raw_old, v_old), (p_new, raw_new, v_new) = old, new
        start = len(self.parts)
        components = list(dict.fromkeys([*raw_new, *raw_old]))
        reconstructed = 0.0
        weight_causes = None
        for c in components:
            c0, c1 = p_old.get(c), p_new.get(c)
            x0, x1 = v_old.get(c), v_new.get(c)
            if c0 is not None and c1 is not None:
                pbar, xbar = (c0 + c1) / 2, (x0 + x1) / 2
                weight_effect = xbar * (c1 - c0)
                value_effect = pbar * (x1 - x0)
                reconstructed += weight_effect + value_effect
                if weight_effect != 0:
                    if weight_causes is None:
                        weight_causes = self.weight_causes(name, raw_old, raw_new, p_old, p_new)
                    self.add(weight_causes, name, c, "weight", scale * weight_effect)
                if value_effect != 0:
                    self.walk(c, scale * pbar)
            else:
                amount = (c1 * x1 if c1 is not None else 0.0) - (c0 * x0 if c0 is not None else 0.0)
                reconstructed += amount
                if c not in raw_old or c not in raw_new:
                    causes = {f"change:{name}"} if name in self.a.changes else {f"value:{name}"}
                    effect = "component"
                else:  # in both definitions, present in one run only
                    causes = set(self.root(c))
                    effect = "component"
                self.add(causes, name, c, effect, scale * amount)
        residual = (s1 - s0) - reconstructed  # float rounding of the recorded values only
        own = self.parts[start:]
        if residual and own:
            i = max(range(len(own)), key=lambda k: abs(own[k].amount))
            p = own[i]
            self.parts[start + i] = attrs.evolve(p, amount=p.amount + scale * residual)
        return True

    def weight_causes(self, name: str, raw_old: dict, raw_new: dict, p_old: dict, p_new: dict) -> set[str]:
        causes: set[str] = set()
        if raw_old != raw_new:
            if name in self.a.changes:
                causes.add(f"change:{name}")
            components = set(raw_old) | set(raw_new)
            for d in self.deps(name):
                if d not in components and self.changed(d):
                    causes |= self.root(d)
            if not causes:
                causes.add(f"value:{name}")
        else:  # same weights: re-normalised because a component's presence changed
            for c in set(raw_old) | set(raw_new):
                if (c in p_old) != (c in p_new):
                    causes |= self.root(c)
            if not causes:
                causes.add(f"value:{name}")
        return causes

    # -- the tier
    def tier_causes(self) -> list[str]:
        old, new = self.old, self.new
        if old.tier is None or new.tier is None:
            return []
        ot, nt = old.display[self.eo], new.display[self.en]
        out: list[str] = []
        tier = new.tier.name
        if tier in self.a.changes:
            out.append(self.a.changes[tier].cause)
        old_rule = _rule_text(old, self.eo)
        new_rule = _rule_text(new, self.en)
        if ot != nt and old_rule != new_rule:
            out.append(f"rule {old_rule} {_ARROW} {new_rule}")
        from_names = {old.from_node, new.from_node}
        for d in self.deps(tier):
            if d in from_names or not self.changed(d):
                continue
            for cause in sorted(self.root(d)):
                text = self.a.cause_text(cause)
                if text not in out:
                    out.append(text)
        old_acted, new_acted = old.limits_acted[self.eo], new.limits_acted[self.en]
        if old_acted != new_acted:
            out.append(f"limits acting {_limits(old, old_acted)} {_ARROW} {_limits(new, new_acted)}")
        so, sn = old.scores[self.eo], new.scores[self.en]
        if np.isnan(so) != np.isnan(sn):
            run = old.info.id if np.isnan(so) else new.info.id
            why = []
            for name in dict.fromkeys(n for n in (old.from_node, new.from_node) if n):
                if self.changed(name):
                    why += [self.a.cause_text(c) for c in sorted(self.root(name))]
            out.append(f"no score in run {run}" + (f" ({', '.join(dict.fromkeys(why))})" if why else ""))
        uses_rank = any(_rule(run, e).get("kind") == "rank" for run, e in ((old, self.eo), (new, self.en)))
        if ot != nt and uses_rank and not np.isnan(so) and so == sn:
            out.append("same score, other entities' scores moved (rank rule)")
        return out

    def changed_path(self) -> list[str]:
        """Nodes on the path to the headline tier whose value changed for this entity (in
        evaluation order)."""
        if self.new.tier is None:
            return []
        if self.a.path is None:  # the same for every entity: computed once
            seen: dict[str, None] = {}
            stack = [self.new.tier.name]
            while stack:
                name = stack.pop()
                for d in self.deps(name):
                    if d not in seen:
                        seen[d] = None
                        stack.append(d)
            order = {n: node.position for n, node in self.new.nodes.items()}
            self.a.path = sorted(seen, key=lambda n: (order.get(n, 10**9), n))
        return [n for n in self.a.path if self.changed(n)]


def _coefficients(run: _Run, e: int, name: str, value: float) -> tuple[dict, dict, dict] | None:
    """({component: effective coefficient} over present components, {component: raw weight},
    {component: value}) of an additive aggregation, as the run recorded them (audit schema
    version 7); None when it recorded none (not such a node, or a run recorded before)."""
    node = run.nodes.get(name)
    if node is None or run.store is None or (node.call or {}).get("over"):
        return None  # (the components of an additive node: an aggregation or a sum of terms)
    recorded = run.store.components(run.info.id, name, e)
    if not recorded:
        return None
    coef: dict[str, float] = {}
    weights: dict[str, float] = {}
    values: dict[str, float] = {}
    for c in recorded:
        weights[c.name] = weights.get(c.name, 0.0) + (c.weight or 0.0)
        if c.value is not None and c.coefficient is not None:
            coef[c.name] = coef.get(c.name, 0.0) + c.coefficient
            values[c.name] = c.value
    return (coef, weights, values) if coef else None


def _names(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)))


def _rule(run: _Run, e: int) -> dict:
    rules = (run.tier.tier or {}).get("rules", []) if run.tier is not None else []
    i = run.rule_index[e]
    return rules[i] if 0 <= i < len(rules) else {}


def _rule_text(run: _Run, e: int) -> str:
    rule = _rule(run, e)
    if not rule:
        return "(none)"
    text = re.sub(r"\s+", " ", rule.get("text") or rule.get("condition") or "").strip()
    recorded = run.recorded_ranks.get(e)
    if rule.get("kind") == "rank" and not rule.get("within") and recorded is not None:
        rank = recorded[1] if rule["direction"] == "top" else recorded[2]
        if rank is not None:
            scored = sum(1 for r in run.recorded_ranks.values() if r[1] is not None)
            text += f", rank {rank} of {scored}"
    return f"{rule['label']} ({text})"


def _limits(run: _Run, acted: tuple[int, ...]) -> str:
    if not acted:
        return "none"
    limits = (run.tier.tier or {}).get("limits", [])
    return "; ".join(f"{i + 1} ({re.sub(r'[ ]+', ' ', limits[i]['text'])})" if i < len(limits) else str(i + 1)
                     for i in acted)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format_number(float(v))
    return str(v)


def _signed(x: float) -> str:
    text = format_number(x)
    return text if text.startswith("-") or text == "0" else f"+{text}"


# ---------------------------------------------------------------- recording


def record_comparison(store: AuditStore, comparison: Comparison, structural: dict | None,
                      kind: str, tool_version: str | None = None) -> int:
    """Store the comparison (`comparisons` table, docs/audit.md); returns its id. Recorded runs
    never change, so comparing the same two runs again gives the same row: an identical
    comparison already stored is reused rather than stored twice."""
    conn = store.conn
    structural_text = None if structural is None else json.dumps(structural, ensure_ascii=False)
    outcome_text = json.dumps(to_json(comparison), ensure_ascii=False)
    version = tool_version or installed_version()
    begin_write(conn, store.path)  # the row and its seal (audit/seals.py) together, queued
    try:
        comparison_id = _insert_comparison(conn, comparison, kind, version, structural_text, outcome_text)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return comparison_id


def _insert_comparison(conn, comparison: Comparison, kind: str, version: str, structural_text: str | None,
                       outcome_text: str) -> int:
    row = conn.execute(
        "SELECT id FROM comparisons WHERE old_run = ? AND new_run = ? AND kind = ? "
        "AND tool_version = ? AND structural IS ? AND outcome = ? ORDER BY id LIMIT 1",
        (comparison.old.id, comparison.new.id, kind, version, structural_text, outcome_text),
    ).fetchone()
    if row is not None:
        return int(row[0])
    cursor = conn.execute(
        "INSERT INTO comparisons (created, tool_version, kind, old_run, new_run, structural, outcome) "
        "VALUES (?,?,?,?,?,?,?)",
        (now_iso(), version, kind, comparison.old.id, comparison.new.id, structural_text, outcome_text),
    )
    seal_record(conn, "comparison", int(cursor.lastrowid))
    return int(cursor.lastrowid)


def comparisons(store: AuditStore) -> list[dict]:
    """Recorded comparisons, newest first (JSON columns decoded)."""
    out = []
    for row in store.db.query("SELECT * FROM comparisons ORDER BY id DESC"):
        row["structural"] = None if row["structural"] is None else json.loads(row["structural"])
        row["outcome"] = json.loads(row["outcome"])
        out.append(row)
    return out


# ---------------------------------------------------------------- rendering


def _num(x: float | None) -> Any:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def _run_json(info: RunInfo) -> dict:
    return {
        "run": info.id,
        "methodology": {"name": info.methodology_name, "version": info.methodology_version,
                        "path": info.methodology_path, "sha256": info.methodology_sha256},
        "dataset": {"path": info.dataset_path, "sha256": info.dataset_sha256},
        "params": info.params,
        "entities": info.entity_count,
    }


def entity_json(d: EntityDiff) -> dict:
    a = d.attribution
    return {
        "key": d.key,
        "label": d.label,
        "old": {"tier": d.old_tier, "score": _num(d.old_score), "rank": d.old_rank},
        "new": {"tier": d.new_tier, "score": _num(d.new_score), "rank": d.new_rank},
        "move": d.move,
        "score_change": _num(d.score_change),
        "summary": d.summary(),
        "attribution": None if a is None else {
            "score_change": _num(a.score_change),
            "causes": [{"cause": c.cause, "text": c.text, "amount": c.amount} for c in a.causes],
            "parts": [
                {"cause": p.cause, "text": p.text, "node": p.node, "component": p.component,
                 "effect": p.effect, "amount": p.amount}
                for p in a.parts
            ],
            "tier_causes": list(a.tier_causes),
            "changed_nodes": list(a.changed_nodes),
        },
    }


def to_json(c: Comparison) -> dict:
    """The outcome as plain JSON-ready data (the `outcome` object of docs/diff.md)."""
    return {
        "old": _run_json(c.old),
        "new": _run_json(c.new),
        "tier": {"old": c.old_tier, "new": c.new_tier},
        **({"ranked_by": {"old": c.ranked_by[0], "new": c.ranked_by[1]}} if c.ranked_by else {}),
        "entities": {"common": c.common, "only_old": list(c.only_old), "only_new": list(c.only_new)},
        "transitions": {"rows": list(c.rows), "columns": list(c.columns),
                        "counts": [list(r) for r in c.counts]},
        "moved": {
            "up": c.up, "down": c.down, "other": c.other, "unchanged": c.same,
            "share_up": c.up / c.common if c.common else None,
            "share_down": c.down / c.common if c.common else None,
            "share_moved": c.moved / c.common if c.common else None,
        },
        "rank_correlation": {"spearman": _num(c.spearman), "kendall_tau_b": _num(c.kendall),
                             "n": c.correlated},
        "params": [
            {"name": p.name, "old": p.old, "new": p.new, "old_declared": p.old_declared,
             "new_declared": p.new_declared, "overridden": p.overridden}
            for p in c.params
        ],
        "movers": [entity_json(d) for d in c.movers],
    }


MOVER_COLUMNS = ("key", "label", "old_tier", "new_tier", "move", "old_score", "new_score",
                 "score_change", "old_rank", "new_rank", "attribution")


def movers_csv(c: Comparison) -> str:
    rows = [MOVER_COLUMNS]
    for d in c.movers:
        a = d.attribution
        attribution = "" if a is None else "; ".join(
            [f"{x.text} ({_signed(x.amount)})" for x in a.causes] + list(a.tier_causes))
        rows.append([
            d.key, d.label or "", d.old_tier or "", d.new_tier or "",
            "" if d.move is None else d.move,
            _csv_number(d.old_score), _csv_number(d.new_score), _csv_number(d.score_change),
            "" if d.old_rank is None else d.old_rank, "" if d.new_rank is None else d.new_rank,
            attribution,
        ])
    return csv_text(rows)  # cells a spreadsheet would evaluate neutralised (dsl/escaping.py)


def _csv_number(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _grid(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i]) for i in range(len(r))]
        out.append("  ".join(cells).rstrip())
    return out


def render_text(c: Comparison, kind: str | None = None) -> str:
    """The outcome: transition matrix, moves, rank correlation, movers with attribution."""
    kind = kind or c.new.entity_kind or "entity"
    lines = [f"outcome: run {c.old.id} {_ARROW} run {c.new.id}, {c.common} {kind} "
             f"entit{'y' if c.common == 1 else 'ies'} in both runs"]
    if c.only_old or c.only_new:
        if c.only_old:
            lines.append(f"  only in run {c.old.id} ({len(c.only_old)}): {', '.join(c.only_old)}")
        if c.only_new:
            lines.append(f"  only in run {c.new.id} ({len(c.only_new)}): {', '.join(c.only_new)}")
    for p in c.params:
        if not p.overridden:
            continue  # a change of declared value: the structural diff shows it
        declared = (_value(p.old_declared) if p.old_declared == p.new_declared
                    else f"{_value(p.old_declared)} {_ARROW} {_value(p.new_declared)}")
        used = (f"{_value(p.old)} in both runs" if p.old == p.new
                else f"{_value(p.old)} {_ARROW} {_value(p.new)}")
        lines.append(f"  param {p.name} set to {used} (declared {declared})")
    lines.append("")
    if c.ranked_by is not None:  # two indices: no tiers, entities move by rank
        old_by, new_by = c.ranked_by
        by = old_by if old_by == new_by else f"{old_by} {_ARROW} {new_by}"
        lines.append(f"no tiers: entities ranked by {by}, highest first; a move is a change of rank")
    else:
        lines.append(f"tier transitions (rows: run {c.old.id} {c.old_tier}, columns: run {c.new.id} {c.new_tier})")
        header = ["", *c.columns]
        rows = [[label, *[str(n) for n in row]] for label, row in zip(c.rows, c.counts)]
        lines += ["  " + line for line in _grid(header, rows, set(range(1, len(header))))]
    lines.append("")
    lines.append(
        f"moved up {c.up} ({_pct(c.up, c.common)}), down {c.down} ({_pct(c.down, c.common)})"
        + (f", changed without order {c.other} ({_pct(c.other, c.common)})" if c.other else "")
        + f", unchanged {c.same} ({_pct(c.same, c.common)})"
    )
    rho = "-" if c.spearman is None else f"{c.spearman:.4f}"
    tau = "-" if c.kendall is None else f"{c.kendall:.4f}"
    lines.append(f"rank correlation of scores: Spearman {rho}, Kendall tau-b {tau} (n = {c.correlated})")
    lines.append("")
    if not c.movers:
        lines.append("movers: none")
        return "\n".join(lines) + "\n"
    lines.append(f"movers ({len(c.movers)}), largest move first")
    ranked = c.ranked_by is not None
    header = [kind, *([] if ranked else ["old tier", "new tier"]), "move", "old score", "new score", "change",
              "old rank", "new rank"]
    rows = []
    for d in c.movers:
        rows.append([
            d.title, *([] if ranked else [d.old_tier or UNRATED, d.new_tier or UNRATED]),
            "-" if d.move is None else f"{d.move:+d}",
            format_number(d.old_score), format_number(d.new_score),
            "-" if d.score_change is None else _signed(d.score_change),
            "-" if d.old_rank is None else str(d.old_rank),
            "-" if d.new_rank is None else str(d.new_rank),
        ])
    first = 1 if ranked else 3
    lines += ["  " + line for line in _grid(header, rows, set(range(first, first + 6)))]
    lines.append("")
    lines.append("why they moved (score change by cause)")
    for d in c.movers:
        lines.append(f"  {d.rank_summary() if ranked else d.summary()}")
    return "\n".join(lines) + "\n"
