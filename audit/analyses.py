"""Sensitivity analyses in the audit store (schema version 4, docs/sensitivity.md).

An analysis is recorded with the run it was made around (its nominal run): its inputs (the
methodology and dataset hashes, the sampling spec, the seed) and its outputs (one row per
entity, one per choice). Nothing is evaluated here: the rows come from tierlang.sensitivity.

    analysis_id = record_analysis(store, run_id, rows)     # one transaction
    robustness_line(store, run_id, "Dorset")
    # 'tier held in 71% of 10,000 samples; most sensitive to transformation_weight'
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

import attrs

from audit.recorder import now_iso
from audit.seals import seal_record
from audit.store import AuditError, AuditStore, begin_write


@attrs.frozen
class AnalysisInfo:
    id: int
    created: str
    tool_version: str
    run: int
    kind: str
    methodology_sha256: str
    dataset_sha256: str | None
    tier: str
    spec: dict
    seed: int
    samples: int
    evaluations: int
    summary: dict


@attrs.frozen
class EntityRobustness:
    analysis: int
    key: str
    nominal_tier: str | None
    nominal_rank: int | None
    probabilities: dict[str, float]
    held: float
    median_rank: float | None
    rank_low: float | None
    rank_high: float | None
    stable: bool
    most_sensitive: str | None
    samples: int


def _json(value: Any) -> str:
    return json.dumps(_finite(value), ensure_ascii=False, sort_keys=False)


def _finite(value: Any) -> Any:
    """JSON has no NaN: missing numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _real(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def record_analysis(store: AuditStore, run_id: int, rows: dict, tool_version: str) -> int:
    """Store an analysis of run `run_id` in one transaction and return its id. `rows` is
    tierlang.sensitivity.analysis_rows(analysis)."""
    store.run(run_id)  # an unknown run is an AuditError
    conn = store.conn
    begin_write(conn, store.path)  # queues behind other writers
    try:
        cursor = conn.execute(
            "INSERT INTO analyses (created, tool_version, run, kind, methodology_sha256, dataset_sha256, "
            "tier, spec, seed, samples, evaluations, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (now_iso(), tool_version, run_id, rows["kind"], rows["methodology_sha256"],
             rows["dataset_sha256"], rows["tier"], _json(rows["spec"]), int(rows["seed"]),
             int(rows["samples"]), int(rows["evaluations"]), _json(rows["summary"])),
        )
        analysis_id = int(cursor.lastrowid)
        conn.executemany(
            "INSERT INTO analysis_entities (analysis, position, key, nominal_tier, nominal_rank, "
            "probabilities, held, median_rank, rank_low, rank_high, stable, most_sensitive) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (analysis_id, position, e["key"], e["nominal_tier"], e["nominal_rank"],
                 _json(e["probabilities"]), float(e["held"]), _real(e["median_rank"]),
                 _real(e["rank_low"]), _real(e["rank_high"]), int(bool(e["stable"])), e["most_sensitive"])
                for position, e in enumerate(rows["entities"])
            ],
        )
        conn.executemany(
            "INSERT INTO analysis_choices (analysis, position, choice, kind, rank, first_order_index, "
            "total_order_index, first_order_tier, total_order_tier, tier_change_share, detail) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (analysis_id, position, c["choice"], c["kind"], c["rank"], _real(c["first_order_index"]),
                 _real(c["total_order_index"]), _real(c["first_order_tier"]), _real(c["total_order_tier"]),
                 _real(c["tier_change_share"]), _json(c["detail"]))
                for position, c in enumerate(rows["choices"])
            ],
        )
        seal_record(conn, "analysis", analysis_id)  # in the same transaction (audit/seals.py)
        conn.execute("COMMIT")
    except BaseException as e:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(e, sqlite3.OperationalError):
            raise AuditError(f"cannot record in {store.path}: {e}; nothing was recorded") from e
        raise
    return analysis_id


def _info(row: dict) -> AnalysisInfo:
    return AnalysisInfo(
        id=row["id"], created=row["created"], tool_version=row["tool_version"], run=row["run"],
        kind=row["kind"], methodology_sha256=row["methodology_sha256"],
        dataset_sha256=row["dataset_sha256"], tier=row["tier"], spec=json.loads(row["spec"]),
        seed=row["seed"], samples=row["samples"], evaluations=row["evaluations"],
        summary=json.loads(row["summary"]),
    )


def analyses(store: AuditStore, run_id: int | None = None) -> list[AnalysisInfo]:
    """Recorded analyses (of one run, or all), newest first."""
    sql, args = "SELECT * FROM analyses", []
    if run_id is not None:
        sql, args = sql + " WHERE run = ?", [run_id]
    return [_info(row) for row in store.db.query(sql + " ORDER BY id DESC", args)]


def analysis(store: AuditStore, analysis_id: int) -> AnalysisInfo:
    rows = list(store.db.query("SELECT * FROM analyses WHERE id = ?", [analysis_id]))
    if not rows:
        raise AuditError(f"no analysis {analysis_id} in the audit store {store.path}")
    return _info(rows[0])


def entity_rows(store: AuditStore, analysis_id: int) -> list[dict]:
    """Per entity, in recorded order (nominal rank), JSON columns decoded."""
    out = []
    for row in store.db.query(
        "SELECT * FROM analysis_entities WHERE analysis = ? ORDER BY position", [analysis_id]
    ):
        row["probabilities"] = json.loads(row["probabilities"])
        row["stable"] = bool(row["stable"])
        out.append(row)
    return out


def choice_rows(store: AuditStore, analysis_id: int) -> list[dict]:
    """Per choice (ranked, then drop-one rows), JSON columns decoded."""
    out = []
    for row in store.db.query(
        "SELECT * FROM analysis_choices WHERE analysis = ? ORDER BY position", [analysis_id]
    ):
        row["detail"] = json.loads(row["detail"]) if row["detail"] else None
        out.append(row)
    return out


def entity_robustness(store: AuditStore, run_id: int, key: str) -> EntityRobustness | None:
    """The entity's row in the latest analysis of the run (None if there is none)."""
    row = store.conn.execute(
        "SELECT a.id, a.samples, e.key, e.nominal_tier, e.nominal_rank, e.probabilities, e.held, "
        "e.median_rank, e.rank_low, e.rank_high, e.stable, e.most_sensitive "
        "FROM analyses a JOIN analysis_entities e ON e.analysis = a.id "
        "WHERE a.run = ? AND e.key = ? AND a.samples > 0 ORDER BY a.id DESC LIMIT 1",
        (run_id, key),
    ).fetchone()
    if row is None:
        return None
    (aid, samples, key, tier, rank, probabilities, held, median, low, high, stable, most) = row
    return EntityRobustness(aid, key, tier, rank, json.loads(probabilities), held, median, low, high,
                            bool(stable), most, samples)


def robustness_line(store: AuditStore, run_id: int, key: str) -> str | None:
    """'tier held in 71% of 10,000 samples; most sensitive to transformation_weight', from the
    latest analysis of the run, or None."""
    r = entity_robustness(store, run_id, key)
    if r is None:
        return None
    text = f"tier held in {_percent(r.held)} of {r.samples:,} samples"
    if r.most_sensitive:
        text += f"; most sensitive to {r.most_sensitive}"
    if r.median_rank is not None:
        text += f"; median rank {_rank(r.median_rank)} (90% interval {_rank(r.rank_low)}-{_rank(r.rank_high)})"
    return text + f" [analysis {r.analysis}]"


def _percent(share: float) -> str:
    """A share as a whole percent, never rounding to 100% or 0% unless exact."""
    value = 100 * share
    shown = round(value)
    if shown == 100 and share < 1:
        return ">99%"
    if shown == 0 and share > 0:
        return "<1%"
    return f"{shown}%"


def _rank(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"
