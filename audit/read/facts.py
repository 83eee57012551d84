"""The facts the interpreter computed and recorded for explain, diff and reconcile (schema
version 7): each additive node's components, the ranks, the branches taken, the typed statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit import integrity
from audit.read.records import (
    RecordedBranch,
    RecordedComponent,
    RecordedRank,
    RecordedStatistic,
    floats,
    loads,
)

if TYPE_CHECKING:
    from audit.store import AuditStore

def _has_facts_tables(store: AuditStore) -> bool:
    return "entity_ranks" in store.db.table_names()

def has_facts(store: AuditStore, run_id: int) -> bool:
    """Whether the run recorded the facts of schema version 7 (a run recorded before has
    none: explain then says what it cannot show)."""
    return _has_facts_tables(store, ) and integrity.has_facts(store.conn, run_id)

def components(store: AuditStore, run_id: int, node: str, position: int) -> list[RecordedComponent]:
    """The components of an additive node for the entity at `position` of its level, as
    the interpreter computed them (empty when not recorded)."""
    if not _has_facts_tables(store, ):
        return []
    columns = f"components, entities, {integrity.codec_column(store.conn)}"
    row = store.conn.execute(
        f"SELECT {columns} FROM node_components WHERE run = ? AND node = ?",
        (run_id, node),
    ).fetchone()
    if row is None or not isinstance(row[1], int) or not 0 <= position < row[1]:
        return []
    names = loads(row[0]) or []
    width = 8 * len(names)
    if row[2] is None:  # raw matrices (before version 9): read the entity's slice of each
        cells = store.conn.execute(  # (audit.write.columns.matrix_blob)
            "SELECT substr(value, ?1, ?2), substr(weight, ?1, ?2), substr(coefficient, ?1, ?2), "
            "substr(contribution, ?1, ?2) FROM node_components WHERE run = ?3 AND node = ?4",
            (1 + position * width, width, run_id, node),
        ).fetchone()
    else:  # compressed (version 9): decode each matrix whole, then take the entity's slice
        stored = store.conn.execute(
            "SELECT CAST(value AS BLOB), CAST(weight AS BLOB), CAST(coefficient AS BLOB), "
            "CAST(contribution AS BLOB) FROM node_components "
            "WHERE run = ? AND node = ?",
            (run_id, node),
        ).fetchone()
        raws = [integrity.decode_matrix(row[2], blob) for blob in stored]
        if any(raw is None for raw in raws):
            return []  # damaged: verify reports it
        cells = [raw[position * width : (position + 1) * width] for raw in raws]
    columns = [floats(c, len(names)) for c in cells]
    return [RecordedComponent(str(name), *(col[i] for col in columns)) for i, name in enumerate(names)]

def rank(store: AuditStore, run_id: int, tier: str, position: int) -> RecordedRank | None:
    """The entity's recorded ranks in a tier, with how many entities were ranked (None
    when not recorded)."""
    if not _has_facts_tables(store, ):
        return None
    row = store.conn.execute(
        "SELECT rank, from_rank_top, from_rank_bottom FROM entity_ranks "
        "WHERE run = ? AND tier = ? AND entity = ?",
        (run_id, tier, position),
    ).fetchone()
    if row is None:
        return None
    rated, scored = store.conn.execute(
        "SELECT count(rank), count(from_rank_top) FROM entity_ranks WHERE run = ? AND tier = ?",
        (run_id, tier),
    ).fetchone()
    return RecordedRank(row[0], row[1], row[2], int(rated), int(scored))

def branch(store: AuditStore, run_id: int, node: str, position: int) -> RecordedBranch | None:
    if not _has_facts_tables(store, ):
        return None
    row = store.conn.execute(
        "SELECT taken, op, left_value, right_value FROM node_branches "
        "WHERE run = ? AND node = ? AND entity = ?",
        (run_id, node, position),
    ).fetchone()
    return None if row is None else RecordedBranch(*row)

def statistics(store: AuditStore, run_id: int) -> dict[str, list[RecordedStatistic]]:
    """Node -> its statistics, typed, with their values from `scalars`, in recorded order
    (empty for a run recorded before version 7)."""
    if not _has_facts_tables(store, ):
        return {}
    out: dict[str, list[RecordedStatistic]] = {}
    for node, shown, name, item, grp, call, prefix, rule, value, text in store.conn.execute(
        "SELECT t.node, t.shown, t.name, t.item, t.grp, t.call, t.prefix, t.rule, s.value, s.text "
        "FROM node_statistics t JOIN scalars s ON s.run = t.run AND s.node = t.node AND s.name = t.key "
        "WHERE t.run = ? ORDER BY t.node, s.position",
        (run_id,),
    ):
        out.setdefault(node, []).append(
            RecordedStatistic(shown, name, item, grp, call, prefix, rule, value if text is None else text))
    return out

def tier_ranks(store: AuditStore, run_id: int, tier: str) -> dict[int, tuple[int | None, int | None, int | None]]:
    """Entity position -> (rank `tierlang run` showed, `from` rank from the top, from the
    bottom), as recorded for a tier (empty for a run recorded before version 7)."""
    if not _has_facts_tables(store, ):
        return {}
    return {
        e: (r, top, bottom)
        for e, r, top, bottom in store.conn.execute(
            "SELECT entity, rank, from_rank_top, from_rank_bottom FROM entity_ranks "
            "WHERE run = ? AND tier = ?",
            (run_id, tier),
        )
    }

def index_ranks(store: AuditStore, run_id: int, level: str | None = None) -> tuple[str, dict[int, int | None]] | None:
    """For an index (a level without tiers, ranked by a score: interpreter.ranking.index_score):
    the score node and entity position -> the rank `tierlang run` showed, as recorded under
    the score's name; None when the run recorded none (a run with tiers, or recorded
    before index ranks were)."""
    if not _has_facts_tables(store, ):
        return None
    row = store.conn.execute(
        "SELECT n.name FROM nodes n WHERE n.run = ? AND n.kind = 'score' AND n.level IS ? "
        "AND EXISTS (SELECT 1 FROM entity_ranks r WHERE r.run = n.run AND r.tier = n.name) "
        "ORDER BY n.position DESC LIMIT 1",
        (run_id, level),
    ).fetchone()
    if row is None:
        return None
    return row[0], {e: r for e, r in store.conn.execute(
        "SELECT entity, rank FROM entity_ranks WHERE run = ? AND tier = ?", (run_id, row[0]))}

