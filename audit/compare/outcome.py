"""Outcome diff and attribution of two recorded runs, read from the audit store alone.

    from audit.compare import compare, to_json
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

import numpy as np

from audit.compare.attribution import _Attributor
from audit.compare.correlation import kendall_tau_b, spearman
from audit.compare.reading import _read_run, _Run
from audit.compare.results import UNRATED, Comparison, EntityDiff
from audit.compare.serial import to_json
from audit.recorder import now_iso
from audit.seals import seal_record
from audit.store import (
    AuditError,
    AuditStore,
    begin_write,
    installed_version,
)
from dsl.diff import StructuralDiff


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

