"""Reading a stored run's rows back in the canonical order the hashes cover (its Body, the
lower levels' LowerBody, the recorded facts' FactBody).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from typing import Any

from audit.integrity.columns import (
    BRANCH_COLUMNS,
    COMPONENT_COLUMNS,
    ENTITY_COLUMNS,
    LEVEL_COLUMNS,
    MEMBER_COLUMNS,
    MEMBER_TIER_COLUMNS,
    NODE_COLUMNS,
    NODE_LEVEL_COLUMNS,
    RANK_COLUMNS,
    SCALAR_COLUMNS,
    STATISTIC_COLUMNS,
    TIER_COLUMNS,
    VALUE_COLUMNS,
    codec_column,
    decode_matrix,
)
from audit.integrity.hashing import Body, FactBody, LowerBody, _columns_of


def read_body(conn: sqlite3.Connection, run_id: int) -> Body:
    """A run's stored rows, in the canonical order. Values are read from the run's id range
    (`first_value_id` .. + entity_count x values_per_entity - 1), one per position (a
    deleted row reads as all NULL; `check_run` reports it)."""
    first, entities, stride = conn.execute(
        "SELECT first_value_id, entity_count, values_per_entity FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    first = first or 0
    n = (entities or 0) * (stride or 0)
    values = conn.execute(
        "SELECT num, text, bool, missing_reason FROM node_values WHERE id BETWEEN ? AND ? "
        "ORDER BY id",
        (first, first + n - 1),
    ).fetchall()
    if len(values) != n:  # rows deleted: keep every row at its position, absent ones all NULL
        found = dict(
            (row[0], row[1:])
            for row in conn.execute(
                "SELECT id, num, text, bool, missing_reason FROM node_values "
                "WHERE id BETWEEN ? AND ?",
                (first, first + n - 1),
            )
        )
        values = [found.get(first + i, (None, None, None, None)) for i in range(n)]

    def select(columns, table, order) -> list[Sequence]:
        names = ", ".join(c for c, _ in columns)
        rows = conn.execute(
            f"SELECT {names} FROM {table} WHERE run = ? ORDER BY {order}", (run_id,)
        ).fetchall()
        return _columns_of(rows, len(columns))

    return Body(
        entities=select(ENTITY_COLUMNS, "entities", "position"),
        nodes=select(NODE_COLUMNS, "nodes", "position"),
        values=_columns_of(values, len(VALUE_COLUMNS)),
        scalars=select(SCALAR_COLUMNS, "scalars", "node, name"),
        tier_steps=select(TIER_COLUMNS, "tier_steps", "tier, entity"),
        lower=read_lower_body(conn, run_id, select) if has_lower_levels(conn, run_id) else None,
        facts=read_fact_body(conn, run_id, select) if has_facts(conn, run_id) else None,
    )


def has_facts(conn: sqlite3.Connection, run_id: int) -> bool:
    """Whether the stored run has any recorded fact (schema version 7): a run without any
    hashes exactly as before version 7; deleting every fact of a run that had some changes its
    digest as surely as editing one."""
    if conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entity_ranks'"
    ).fetchone() is None:
        return False
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM node_components WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM entity_ranks WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM node_branches WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM node_statistics WHERE run = ?)",
        (run_id, run_id, run_id, run_id),
    ).fetchone()
    return bool(row[0])


def _decoded(codec, stored: bytes):
    """A matrix's raw bytes (what the digest covers), or a marker no recorded run hashes to
    when its codec is unknown or its bytes do not decode."""
    raw = decode_matrix(codec, stored)
    return ("!undecodable", stored) if raw is None else raw


def read_fact_body(conn: sqlite3.Connection, run_id: int, select) -> FactBody:
    columns = (  # a BLOB column read as bytes, whatever was stored in it (typed apart)
        "node, entities, components, typeof(value), CAST(value AS BLOB), typeof(weight), "
        "CAST(weight AS BLOB), typeof(coefficient), CAST(coefficient AS BLOB), typeof(contribution), "
        f"CAST(contribution AS BLOB), {codec_column(conn)}"
    )
    rows = conn.execute(
        f"SELECT {columns} FROM node_components WHERE run = ? ORDER BY node",
        (run_id,),
    ).fetchall()
    components = [
        (*row[:3], *(_decoded(row[11], raw) if kind == "blob" else ("!" + kind, raw)
                     for kind, raw in zip(row[3:11:2], row[4:11:2])))
        for row in rows
    ]
    return FactBody(
        components=_columns_of(components, len(COMPONENT_COLUMNS)),
        ranks=select(RANK_COLUMNS, "entity_ranks", "tier, entity"),
        branches=select(BRANCH_COLUMNS, "node_branches", "node, entity"),
        statistics=select(STATISTIC_COLUMNS, "node_statistics", "node, key"),
    )


def _range_rows(conn: sqlite3.Connection, table: str, columns: str, first: int, n: int) -> list:
    """The `n` rows of ids `first ..` of `table`, in id order; a deleted row reads as all NULL.
    Never beyond the table's last id (a count edited to billions cannot exhaust memory; the
    edited count is hashed anyway)."""
    width = columns.count(",") + 1
    last = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    n = max(0, min(n, last - first + 1))
    rows = conn.execute(
        f"SELECT {columns} FROM {table} WHERE id BETWEEN ? AND ? ORDER BY id",
        (first, first + n - 1),
    ).fetchall()
    if len(rows) == n:
        return rows
    found = {
        row[0]: row[1:]
        for row in conn.execute(
            f"SELECT id, {columns} FROM {table} WHERE id BETWEEN ? AND ?", (first, first + n - 1)
        )
    }
    return [found.get(first + i, (None,) * width) for i in range(n)]


def levels_table_exists(conn: sqlite3.Connection) -> bool:
    """False in a store being migrated from before schema version 5."""
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'levels'"
        ).fetchone()
        is not None
    )


def has_lower_levels(conn: sqlite3.Connection, run_id: int) -> bool:
    """Whether the stored run has any lower-level row (see the module docstring)."""
    if not levels_table_exists(conn):
        return False
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM levels WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM members WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM member_tier_steps WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM nodes WHERE run = ? "
        "AND (level IS NOT NULL OR aggregates IS NOT NULL))",
        (run_id, run_id, run_id, run_id),
    ).fetchone()
    return bool(row[0])


def read_lower_body(conn: sqlite3.Connection, run_id: int, select=None) -> LowerBody:
    """A run's stored lower-level rows, in the canonical order. Each level's values are read
    from its id range (`levels.first_value_id` .. + member_count x values_per_member - 1)."""
    if select is None:

        def select(columns, table, order) -> list[Sequence]:
            names = ", ".join(c for c, _ in columns)
            rows = conn.execute(
                f"SELECT {names} FROM {table} WHERE run = ? ORDER BY {order}", (run_id,)
            ).fetchall()
            return _columns_of(rows, len(columns))

    values: list = []
    for first, count, stride in conn.execute(
        "SELECT first_value_id, member_count, values_per_member FROM levels WHERE run = ? "
        "ORDER BY position",
        (run_id,),
    ).fetchall():
        n = _count(count) * _count(stride)
        values += _range_rows(
            conn, "member_values", "num, text, bool, missing_reason", _count(first), n
        )
    return LowerBody(
        levels=select(LEVEL_COLUMNS, "levels", "position"),
        node_levels=select(NODE_LEVEL_COLUMNS, "nodes", "position"),
        members=select(MEMBER_COLUMNS, "members", "level, position"),
        values=_columns_of(values, len(VALUE_COLUMNS)),
        tier_steps=select(MEMBER_TIER_COLUMNS, "member_tier_steps", "tier, member"),
    )


def _count(value: Any) -> int:
    """A stored count or id as an int (0 for NULL or a damaged cell, which the hash reports)."""
    return value if isinstance(value, int) and value > 0 else 0


def methodology_sources_sha256(sources: Sequence[Sequence[str]]) -> str:
    """What `methodologies.sha256` must be for these (path, text) sources (see
    audit.recorder.methodology_sha256)."""
    texts = [text for _path, text in sources] or [""]
    digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


# ---------------------------------------------------------------- checking

