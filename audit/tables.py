"""What the audit store recorded, as pandas tables.

    ranked_table(store, run_id)      # key -> label, score, tier, rank (as `tierlang run` shows)
    tier_dtype(scale, missing_label) # the ordered categorical of a tier's labels
    explanation_frame(explanation)   # a derivation (audit.explain), one row per node shown
    components_frame(explanation)    # its weighted components and their contributions
    reconcile_frame(reconciliation)  # the mismatches (audit.reconcile), indexed by key

Nothing is evaluated: the score is the headline tier's recorded `from` value, the tier its
recorded label (tier steps), the rank the one `tierlang diff` shows: the rank the run recorded
(`entity_ranks`, under the tier or, for an index, under its score; audit.compare reads the run
once and re-ranks nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit.compare import _read_run  # one reading of a run's tiers, scores and ranks
from audit.store import AuditStore


def tier_dtype(scale: Sequence[str], missing_label: str | None = None) -> pd.CategoricalDtype:
    """Tier labels as an ordered categorical, worst first as declared; a `missing:` label that
    is not on the scale comes before the worst (it rates nothing better)."""
    categories = list(scale)
    if missing_label and missing_label not in categories:
        categories.insert(0, missing_label)
    return pd.CategoricalDtype(categories, ordered=True)


def as_tiers(
    values, scale: Sequence[str], missing_label: str | None = None, index=None
) -> pd.Series:
    """`values` (labels, None for no tier) as an ordered categorical Series."""
    dtype = tier_dtype(scale, missing_label)
    series = pd.Series(list(values), index=index, dtype=object)
    known = series.where(series.isin(dtype.categories))
    return known.astype(dtype)


def ranked_table(store: AuditStore, run_id: int) -> pd.DataFrame:
    """One row per top-level entity, in data order, indexed by key: `label`, `score` (the
    headline tier's `from` value), `tier` (ordered categorical, worst first) and `rank`
    (Int64; none without a tier). A run without a tier has no `tier` values; an index (ranked
    by its score) has the ranks it recorded, and a run recorded before those were has none."""
    run = _read_run(store, run_id)
    index = pd.Index(run.keys, name="key")
    table = pd.DataFrame(index=index)
    table["label"] = pd.Series(run.labels, index=index, dtype=object)
    table["score"] = pd.Series(np.asarray(run.scores, dtype=np.float64), index=index)
    scale = list(run.tier.scale or ()) if run.tier is not None else []
    table["tier"] = as_tiers(run.display, scale, run.missing_label, index=index)
    table["rank"] = pd.array(run.ranks, dtype="Int64")
    return table


# ---------------------------------------------------------------- a reconciliation


def reconcile_frame(r) -> pd.DataFrame:
    """The entities whose recorded value disagrees with the published one, indexed by key."""
    rows = [
        {
            "key": m.key,
            "label": m.label,
            "published": m.published,
            "computed": m.computed,
            "difference": m.difference,
            "why": m.summary,
        }
        for m in r.mismatches
    ]
    frame = pd.DataFrame(
        rows, columns=["key", "label", "published", "computed", "difference", "why"]
    )
    frame = frame.set_index("key")
    if r.kind == "tier":
        scale = [label for label in reversed(r.scale)]
        frame["published"] = as_tiers(frame["published"], scale, index=frame.index)
        frame["computed"] = as_tiers(frame["computed"], scale, index=frame.index)
    frame["difference"] = frame["difference"].astype("float64")
    return frame


def reconcile_matrix(r) -> pd.DataFrame:
    """Published (rows) x computed (columns) counts, labels best first (tiers only)."""
    labels = list(r.scale)
    frame = pd.DataFrame(
        0, index=pd.Index(labels, name="published"), columns=pd.Index(labels, name="computed")
    )
    for (published, computed), n in r.matrix.items():
        frame.loc[published, computed] = n
    return frame


def reconcile_summary(r) -> pd.DataFrame:
    rows = [
        ("run", r.run_id),
        ("methodology", r.methodology),
        ("node", r.node),
        ("kind", r.kind),
        ("published table", r.published_path),
        ("key column", r.key_column),
        ("column", r.column),
        ("compared", r.compared),
        ("agreed", r.agreed),
        ("agreement rate", r.rate),
        ("only published", len(r.only_published)),
        ("only in the run", len(r.only_run)),
        ("published blank", len(r.blank)),
    ]
    return pd.DataFrame(rows, columns=["field", "value"]).set_index("field")


# ---------------------------------------------------------------- an explanation


def explanation_frame(explanation) -> pd.DataFrame:
    """The derivation, one row per node as shown (depth first, the headline tier first)."""
    rows = []

    def walk(node, depth: int) -> None:
        rows.append(
            {
                "depth": depth,
                "node": node.name,
                "kind": node.kind,
                "title": node.title,
                "level": node.level,
                "value": _plain(node.value),
                "shown": node.display,
                "missing_reason": node.missing_reason,
                "definition": node.expression,
                "file": node.file,
                "line": node.line,
                "see_above": node.see_above,
                "details": "\n".join(node.details),
            }
        )
        for child in node.children:
            walk(child, depth + 1)

    for root in explanation.roots:
        walk(root, 0)
    frame = pd.DataFrame(
        rows,
        columns=[
            "depth",
            "node",
            "kind",
            "title",
            "level",
            "value",
            "shown",
            "missing_reason",
            "definition",
            "file",
            "line",
            "see_above",
            "details",
        ],
    )
    frame["line"] = pd.array(frame["line"].tolist(), dtype="Int64")
    return frame


def components_frame(explanation) -> pd.DataFrame:
    """Every weighted component shown in the derivation: the aggregation, the component, its
    weight, value and contribution (as audit.explain reports them)."""
    rows = []
    seen = set()

    def walk(node) -> None:
        if node.name in seen:
            return
        seen.add(node.name)
        for c in node.components:
            rows.append(
                {
                    "aggregation": node.name,
                    "component": c.name,
                    "title": c.title,
                    "weight": c.weight,
                    "value": c.value,
                    "missing_reason": c.missing_reason,
                    "contribution": c.contribution,
                }
            )
        for child in node.children:
            walk(child)

    for root in explanation.roots:
        walk(root)
    frame = pd.DataFrame(
        rows,
        columns=[
            "aggregation",
            "component",
            "title",
            "weight",
            "value",
            "missing_reason",
            "contribution",
        ],
    )
    for column in ("weight", "value", "contribution"):
        frame[column] = frame[column].astype("float64")
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return "; ".join(map(str, value))
    return value
