"""Reconciling a recorded run with a published table: how far a methodology reproduces figures
published by its owner.

`reconcile(store, run_id, published, key_column, column, node=None, tolerance=0.0)` compares one
node of a recorded run (default: the headline tier, the last tier the methodology declares) with
one column of a published table (an interpreter.data.Dataset), entity by entity, the published
`key_column` matched with the run's entity keys. It reads the store only: nothing is re-run.
The result is plain data; tierlang/render/reconcile.py shows it as text and JSON.

- Entities in only one side are listed, not compared. Entities the published table leaves
  blank in `column` are listed and not counted in the agreement rate.
- Tiers: a published label matches a label of the tier's scale written exactly; else the one
  that is equal ignoring case, surrounding spaces, and with spaces and underscores (and runs of
  them) equivalent ("Making progress" is `making_progress`). A published label matching no
  label of the scale is a ReconcileError (the comparison would be meaningless). An entity the
  run gave no tier is computed "(no tier)" and never agrees. The confusion matrix counts
  (published, computed) pairs in scale order, best first. Each mismatch carries a one-line
  summary of why the run gave its tier (the rule that assigned it, and any limit that acted),
  from the recorded tier steps.
- Numbers: a published value agrees when |computed - published| <= tolerance (decimal-safe:
  equal values always agree, as in docs/semantics.md); a missing computed value never agrees.
  Published cells that are not numbers are a ReconcileError. The largest differences are
  listed, largest first.
"""

from __future__ import annotations

import math
import re

import attrs

from audit.explain import format_number, squash
from audit.store import AuditError, AuditStore, NodeInfo
from dsl import types as T
from dsl.errors import DATA
from dsl.numbers import close as _close
from dsl.numbers import parse_number

NO_TIER = "(no tier)"
LARGEST = 10  # differences listed for a numeric node


class ReconcileError(AuditError):
    """The inputs cannot be reconciled (unknown column, duplicate key, unknown label...): a
    problem of the published table, not of the store."""

    stage = DATA


@attrs.frozen
class Mismatch:
    key: str
    label: str | None
    published: str
    computed: str
    summary: str  # why the run gave its value (tiers), or the difference (numbers)
    difference: float | None = None  # numbers: computed - published


@attrs.frozen
class Reconciliation:
    run_id: int
    methodology: str
    node: str
    kind: str  # "tier" or "number"
    published_path: str
    key_column: str
    column: str
    compared: int  # entities on both sides with a published value
    agreed: int
    scale: tuple[str, ...] = ()  # tiers: best first (NO_TIER appended when it occurs)
    matrix: dict[tuple[str, str], int] = attrs.field(factory=dict)  # (published, computed) -> count
    mismatches: tuple[Mismatch, ...] = ()  # tiers: in run order; numbers: largest |difference| first
    only_published: tuple[str, ...] = ()
    only_run: tuple[str, ...] = ()
    blank: tuple[str, ...] = ()  # keys on both sides whose published cell is empty
    tolerance: float = 0.0
    label_matches: dict[str, str] = attrs.field(factory=dict)  # published label -> tier label, if not exact

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def frame(self):
        """The mismatches as a DataFrame indexed by key (tiers as ordered categoricals)."""
        from audit.tables import reconcile_frame

        return reconcile_frame(self)

    @property
    def matrix_frame(self):
        """Published (rows) x computed (columns) counts, labels best first."""
        from audit.tables import reconcile_matrix

        return reconcile_matrix(self)



def normalise_label(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip()).casefold()


def match_label(published: str, scale: tuple[str, ...]) -> str | None:
    """The tier label a published label names: exact, else case-insensitive with spaces and
    underscores equivalent; None if none (or more than one) matches."""
    if published in scale:
        return published
    wanted = normalise_label(published)
    found = [label for label in scale if normalise_label(label) == wanted]
    return found[0] if len(found) == 1 else None


def reconcile(store: AuditStore, run_id: int, published, key_column: str, column: str,
              node: str | None = None, tolerance: float = 0.0) -> Reconciliation:
    """`published`: an interpreter.data.Dataset (its `frame` of str/None cells, `path`, `columns`)."""
    run = store.run(run_id)
    if node is None:
        tiers = [n for n in store.nodes(run_id) if n.kind == "tier" and n.level is None]
        if not tiers:
            raise ReconcileError(f"run {run_id} has no tier: name the node to compare with --node")
        info = tiers[-1]
    else:
        info = store.node(run_id, node)
        if info.level is not None:
            raise ReconcileError(f"--node {node}: it is evaluated per {info.level}; reconcile compares the values "
                                 "of the top level's entities")
    for wanted in (key_column, column):
        if wanted not in published.columns:
            raise ReconcileError(f"{published.path} has no column {wanted!r} (its columns: "
                                 f"{', '.join(published.columns)})")
    if tolerance < 0 or math.isnan(tolerance):
        raise ReconcileError("the tolerance must be a number >= 0")
    table: dict[str, str | None] = {}
    for key, value in zip(published.frame[key_column], published.frame[column]):
        if key is None or not str(key).strip():
            continue
        key = str(key).strip()
        if key in table:
            raise ReconcileError(f"{published.path}: key {key!r} appears twice in column {key_column!r}")
        table[key] = None if value is None or not str(value).strip() else str(value).strip()
    entities = store.entities(run_id)
    run_keys = [e.key for e in entities]
    run_key_set = set(run_keys)  # once: rebuilt per key, this made reconcile quadratic
    only_published = tuple(k for k in table if k not in run_key_set)
    only_run = tuple(k for k in run_keys if k not in table)
    both = [e for e in entities if e.key in table]
    blank = tuple(e.key for e in both if table[e.key] is None)
    rated = [e for e in both if table[e.key] is not None]
    common = dict(run_id=run_id, methodology=run.methodology_name, node=info.name,
                  published_path=published.path, key_column=key_column, column=column,
                  only_published=only_published, only_run=only_run, blank=blank, tolerance=tolerance)
    if info.kind == "tier" or info.base == T.LEVEL:
        return _tiers(store, run_id, info, rated, table, common)
    if info.base == T.NUMBER and not info.scalar:
        return _numbers(store, run_id, info, rated, table, tolerance, common)
    raise ReconcileError(f"node '{info.name}' is {info.type}: reconcile compares tiers, levels and numbers")


def _tiers(store, run_id: int, info: NodeInfo, rated, table, common) -> Reconciliation:
    scale = tuple(reversed(info.scale or ()))  # best first
    values = store.values(run_id, info.name)
    matched: dict[str, str] = {}
    unknown = []
    for published in sorted({table[e.key] for e in rated}):
        label = match_label(published, scale)
        if label is None:
            unknown.append(published)
        else:
            matched[published] = label
    if unknown:
        raise ReconcileError(f"published label{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(repr(u) for u in unknown)} match no label of {info.name} "
                             f"({', '.join(scale)})")
    steps = {s.entity: s for s in store.tier_steps(run_id, info.name)} if info.kind == "tier" else {}
    matrix: dict[tuple[str, str], int] = {}
    mismatches = []
    agreed = 0
    for entity in rated:
        published = matched[table[entity.key]]
        value = values.iloc[entity.position]
        computed = NO_TIER if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        matrix[(published, computed)] = matrix.get((published, computed), 0) + 1
        if computed == published:
            agreed += 1
        else:
            mismatches.append(Mismatch(entity.key, entity.label, published, computed,
                                       tier_summary(info, steps.get(entity.position))))
    if any(c == NO_TIER for _, c in matrix):
        scale = scale + (NO_TIER,)
    return Reconciliation(kind="tier", compared=len(rated), agreed=agreed, scale=scale, matrix=matrix,
                          mismatches=tuple(mismatches),
                          label_matches={p: t for p, t in matched.items() if p != t}, **common)


def tier_summary(info: NodeInfo, step) -> str:
    """One line: the rule that assigned the tier (with the `from` value) and the limits that acted."""
    if step is None:
        return "no recorded tier step"
    spec = info.tier or {}
    rules = spec.get("rules", [])
    from_part = ""
    if spec.get("from") and step.from_value is not None:
        from_part = f"; {squash(spec['from'])} = {format_number(step.from_value)}"
    if 0 <= step.rule_index < len(rules):
        rule = rules[step.rule_index]
        text = f"rule {step.rule_index + 1} of {len(rules)} ({rule.get('label')}: {squash(rule['text'])})"
    elif step.from_value is None and spec.get("from"):
        text = f"{squash(spec['from'])} is missing"
        from_part = ""
    else:
        text = "no rule held"
    parts = [text + from_part]
    limits = spec.get("limits", [])
    for index in step.limits_acted:
        if 0 <= index < len(limits):
            parts.append(f"then {squash(limits[index]['text'])}")
    return "; ".join(parts)


def _numbers(store, run_id: int, info: NodeInfo, rated, table, tolerance: float, common) -> Reconciliation:
    values = store.values(run_id, info.name)
    bad = []
    rows = []
    for entity in rated:
        text = table[entity.key]
        try:
            expected = parse_number(text.replace(",", ""))  # 1,234.5 and 12.5% as data cells read
        except ValueError:
            bad.append(f"{entity.key}: {text!r}")
            continue
        rows.append((entity, expected, float(values.iloc[entity.position])))
    if bad:
        raise ReconcileError(f"column {common['column']!r} holds values that are not numbers: "
                             f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}")
    agreed = 0
    mismatches = []
    for entity, expected, computed in rows:
        if math.isnan(computed):
            mismatches.append(Mismatch(entity.key, entity.label, format_number(expected), "missing",
                                       "no computed value", None))
            continue
        difference = computed - expected
        if abs(difference) <= tolerance or _close(computed, expected):
            agreed += 1
        else:
            mismatches.append(Mismatch(entity.key, entity.label, format_number(expected), format_number(computed),
                                       f"difference {format_number(difference)}", difference))
    mismatches.sort(key=lambda m: (m.difference is not None, abs(m.difference or 0.0)), reverse=True)
    return Reconciliation(kind="number", compared=len(rows), agreed=agreed, mismatches=tuple(mismatches),
                          **common)


# ---------------------------------------------------------------- rendering
