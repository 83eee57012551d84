"""Results as pandas DataFrames, indexed by entity key, tiers as ordered Categoricals (worst
first, as declared): what the Python API returns (`.frame` and friends) and what every
`--out x.xlsx` writes, sheet by sheet (tierlang/render/xlsx.py).

Each function only reshapes a result already computed and read (a run, a comparison read
from the store, an analysis, a reconciliation, an explanation): nothing is evaluated here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from audit.tables import (
    as_tiers,
    components_frame,
    explanation_frame,
    tier_dtype,
)
from tierlang.render.cells import signed
from tierlang.results import UNRATED

# ---------------------------------------------------------------- a run


def run_table(outcome) -> pd.DataFrame:
    """The run's table (key, label, [within,] score, tier, rank) indexed by key, its tier an
    ordered categorical of the headline tier's labels (a lower level's with `outcome.level`)."""
    from tierlang.results import _entities, headline_tier

    table = outcome.table.set_index("key")
    name = headline_tier(outcome.result, outcome.level)
    if name is None:
        return table
    node = _entities(outcome.result, outcome.level)[2][name].node
    table["tier"] = as_tiers(
        table["tier"], node.tier.scale.labels, node.tier.missing_label, index=table.index
    )
    return table


def run_values(outcome) -> pd.DataFrame:
    """Every node's value per entity, one column per node, indexed by key (tiers and other
    level types as ordered categoricals)."""
    from tierlang.results import _entities

    keys, _, traces, _ = _entities(outcome.result, outcome.level)
    columns = {}
    for name, trace in traces.items():
        values = trace.values
        if values.dtype == object:
            values = values.map(lambda v: "; ".join(map(str, v)) if isinstance(v, tuple) else v)
        columns[name] = values.reindex(keys)
    frame = pd.DataFrame(columns, index=pd.Index(keys, name="key"))
    return frame


def run_counts(outcome) -> pd.DataFrame:
    return pd.DataFrame(outcome.counts, columns=["tier", "entities"]).set_index("tier")


# ---------------------------------------------------------------- a comparison


def _scale_of(labels: Sequence[str]) -> list[str]:
    """Worst first, from a comparison's axis (best first, then the missing label, UNRATED)."""
    return [label for label in reversed(labels) if label != UNRATED]


def diff_frame(comparison) -> pd.DataFrame:
    """The movers (or, with `compare(..., attribute="all")`, every common entity), indexed by
    key: old and new tier (ordered categoricals), move, scores, ranks, attribution."""
    old_dtype = tier_dtype(_scale_of(comparison.rows))
    new_dtype = tier_dtype(_scale_of(comparison.columns))
    diffs = comparison.entities or comparison.movers
    rows = []
    for d in diffs:
        a = d.attribution
        rows.append(
            {
                "key": d.key,
                "label": d.label,
                "old_tier": d.old_tier,
                "new_tier": d.new_tier,
                "move": d.move,
                "old_score": d.old_score,
                "new_score": d.new_score,
                "score_change": d.score_change,
                "old_rank": d.old_rank,
                "new_rank": d.new_rank,
                "attribution": None
                if a is None
                else "; ".join(
                    [f"{c.text} ({signed(c.amount)})" for c in a.causes] + list(a.tier_causes)
                ),
            }
        )
    columns = [
        "key",
        "label",
        "old_tier",
        "new_tier",
        "move",
        "old_score",
        "new_score",
        "score_change",
        "old_rank",
        "new_rank",
        "attribution",
    ]
    frame = pd.DataFrame(rows, columns=columns).set_index("key")
    frame["old_tier"] = (
        frame["old_tier"].astype(object).where(frame["old_tier"].isin(old_dtype.categories))
    )
    frame["new_tier"] = (
        frame["new_tier"].astype(object).where(frame["new_tier"].isin(new_dtype.categories))
    )
    frame["old_tier"] = frame["old_tier"].astype(old_dtype)
    frame["new_tier"] = frame["new_tier"].astype(new_dtype)
    for column in ("move", "old_rank", "new_rank"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in ("old_score", "new_score", "score_change"):
        frame[column] = frame[column].astype("float64")
    return frame


def transitions_frame(comparison) -> pd.DataFrame:
    """Old tier (rows) x new tier (columns): entities, labels best first as recorded."""
    frame = pd.DataFrame(
        [list(r) for r in comparison.counts],
        index=pd.Index(comparison.rows, name="old"),
        columns=pd.Index(comparison.columns, name="new"),
    )
    return frame


def params_frame(comparison) -> pd.DataFrame:
    rows = [
        {
            "param": p.name,
            "old": p.old,
            "new": p.new,
            "old_declared": p.old_declared,
            "new_declared": p.new_declared,
            "overridden": p.overridden,
        }
        for p in comparison.params
    ]
    return pd.DataFrame(
        rows, columns=["param", "old", "new", "old_declared", "new_declared", "overridden"]
    ).set_index("param")


# ---------------------------------------------------------------- a sensitivity analysis


def sensitivity_frame(analysis) -> pd.DataFrame:
    """Per entity, in nominal rank order, indexed by key: nominal tier (ordered categorical),
    rank and score, the share of samples giving each tier (`p_LABEL`), held, stable, median
    rank and 90% interval, the choice it is most sensitive to."""
    labels = list(analysis.labels) + [analysis.unrated]
    rows = []
    for e in analysis.entities:
        row = {
            "key": e.key,
            "label": e.label,
            "nominal_tier": e.nominal_tier,
            "nominal_rank": e.nominal_rank,
            "nominal_score": e.nominal_score,
            "held": e.held,
            "stable": e.stable,
        }
        row.update({f"p_{label}": e.probabilities.get(label, 0.0) for label in labels})
        row.update(
            {
                "median_rank": e.median_rank,
                "rank_low": e.rank_low,
                "rank_high": e.rank_high,
                "most_sensitive": e.most_sensitive,
            }
        )
        rows.append(row)
    columns = [
        "key",
        "label",
        "nominal_tier",
        "nominal_rank",
        "nominal_score",
        "held",
        "stable",
        *[f"p_{label}" for label in labels],
        "median_rank",
        "rank_low",
        "rank_high",
        "most_sensitive",
    ]
    frame = pd.DataFrame(rows, columns=columns).set_index("key")
    missing = analysis.unrated if analysis.unrated != UNRATED else None
    frame["nominal_tier"] = as_tiers(
        frame["nominal_tier"], list(reversed(analysis.labels)), missing, index=frame.index
    )
    frame["nominal_rank"] = pd.array(frame["nominal_rank"].tolist(), dtype="Int64")
    for column in ("nominal_score", "median_rank", "rank_low", "rank_high"):
        frame[column] = frame[column].astype("float64")
    frame["stable"] = frame["stable"].astype(bool)
    return frame


def choices_frame(analysis) -> pd.DataFrame:
    rows = [
        {
            "choice": c.name,
            "rank": c.rank,
            "kind": c.kind,
            "distribution": c.description,
            "declared": c.declared,
            "first_order_index": _real(c.first_order),
            "total_order_index": _real(c.total_order),
            "first_order_index_tier": _real(c.first_order_tier),
            "total_order_index_tier": _real(c.total_order_tier),
            "tier_change_share": c.tier_change_share,
        }
        for c in analysis.choices
    ]
    columns = [
        "choice",
        "rank",
        "kind",
        "distribution",
        "declared",
        "first_order_index",
        "total_order_index",
        "first_order_index_tier",
        "total_order_index_tier",
        "tier_change_share",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("choice")


def drop_one_frame(analysis) -> pd.DataFrame:
    rows = [
        {
            "indicator": d.indicator,
            "label": d.label,
            "tier_change_share": d.tier_change_share,
            "changed": d.changed,
            "mean_abs_rank_shift": _real(d.mean_abs_rank_shift),
        }
        for d in analysis.drop_one
    ]
    columns = ["indicator", "label", "tier_change_share", "changed", "mean_abs_rank_shift"]
    return pd.DataFrame(rows, columns=columns).set_index("indicator")


def _real(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# A reconciliation's and an explanation's frames are audit/tables.py's (Reconciliation.frame,
# Explanation.frame): audit's own classes expose them.

# ---------------------------------------------------------------- provenance


def recorded_run(audit_path: str | None, run_id: int | None):
    """The RunInfo of a recorded run (None when not recorded)."""
    if audit_path is None or run_id is None:
        return None
    from audit import open_store

    store = open_store(audit_path, create=False)
    try:
        return store.run(run_id)
    finally:
        store.close()


def outcome_provenance(outcome) -> list[tuple[str, Any]]:
    """A run's provenance: as recorded, or (not recorded) what the outcome knows."""
    info = recorded_run(outcome.audit_path, outcome.run_id)
    if info is not None:
        return provenance(info, **{"audit store": outcome.audit_path})
    m = outcome.methodology
    return [
        ("run", "not recorded (--no-audit)"),
        ("methodology", m.name),
        ("methodology version", m.version),
        ("methodology path", m.path),
        ("data", outcome.dataset.path),
        ("data sha256", getattr(outcome.dataset, "sha256", None)),
    ]


def provenance(info, **more) -> list[tuple[str, Any]]:
    """The "run" sheet of a workbook: a recorded run's provenance (audit.store.RunInfo), then
    `more` (field -> value)."""
    rows: list[tuple[str, Any]] = []
    if info is not None:
        rows += [
            ("run", info.id),
            ("status", info.status),
            ("started", info.started),
            ("finished", info.finished),
            ("recorded by", info.user),
            ("note", info.note),
            ("recorded with tierlang", info.tool_version),
            ("methodology", info.methodology_name),
            ("methodology version", info.methodology_version),
            ("methodology path", info.methodology_path),
            ("methodology sha256", info.methodology_sha256),
            ("data", info.dataset_path),
            ("data sha256", info.dataset_sha256),
            ("params", ", ".join(f"{k}={v}" for k, v in info.params.items()) or None),
            ("content hash", info.content_hash),
            ("chain hash", info.chain_hash),
            ("re-run of", info.rerun_of),
        ]
    rows += list(more.items())
    return rows


def write_explanation(explanation, path: str) -> None:
    """An explanation to a file: .xlsx (derivation, components, the run's provenance), .json,
    else the text `tierlang explain` prints."""
    import json

    from tierlang.render.explain import render_text, to_json

    lower = path.lower()
    if lower.endswith(".xlsx"):
        from tierlang.render import xlsx

        e = explanation.entity
        xlsx.write_workbook(
            path,
            [
                ("derivation", explanation_frame(explanation)),
                ("components", components_frame(explanation)),
            ],
            [
                ("entity", e.key),
                ("entity label", e.label),
                ("level", e.level),
                ("headline", explanation.headline),
                *provenance(explanation.run),
            ],
        )
        return
    text = (
        json.dumps(to_json(explanation), indent=2, ensure_ascii=False) + "\n"
        if lower.endswith(".json")
        else render_text(explanation)
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
