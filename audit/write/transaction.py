"""Recording a run: its rows written in one transaction, sealed before commit, queued
behind other writers. The rows themselves are built before the lock is taken (audit/write/rows.py).
"""

from __future__ import annotations

import itertools
import logging
import random
import sqlite3
import time
from typing import Any

from audit import integrity
from audit.errors import AuditError, installed_version, is_busy
from audit.write.nodes import NODE_COLUMNS
from audit.write.rows import LEVEL_COLUMNS, RunRows, build_rows, iso, now_iso
from interpreter.trace import RunResult

# Writers queue: a writer that finds another one writing waits BUSY_TIMEOUT_MS (SQLite's own
# busy handler), then tries again, with a growing pause in between, for WRITE_WAIT_S seconds in
# all before giving up (a healthy store's writers each finish in seconds; a lock held longer
# is a stuck process). Each retry is logged (INFO) to the logger `tierlang.audit.queue`: the
# CLI prints it as a progress line on stderr.
WRITE_WAIT_S = 600.0
_QUEUE = logging.getLogger("tierlang.audit.queue")


def begin_write(conn: sqlite3.Connection, path: str) -> None:
    """BEGIN IMMEDIATE, queueing behind other writers (WRITE_WAIT_S). Raises AuditError when
    the wait is over or the store refuses the write for another reason."""
    started = time.monotonic()
    pause = 0.05
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as e:
            waited = time.monotonic() - started
            if not is_busy(e) or waited >= WRITE_WAIT_S:
                more = f" (after waiting {waited:.0f} s for other writers)" if is_busy(e) else ""
                raise AuditError(f"cannot record in {path}: {e}{more}; nothing was recorded") from e
            _QUEUE.info("waiting for %s: another process is recording in it (%.0f s so far)", path, waited)
            time.sleep(pause * (0.5 + random.random()))  # jitter: waiting writers do not retry in step
            pause = min(pause * 2, 2.0)



_INSERT_RUN = (
    "INSERT INTO runs (started, finished, tool_version, methodology_sha256, methodology_name, "
    "methodology_version, methodology_path, dataset_sha256, dataset_path, params, status, "
    "entity_count, node_count, values_per_entity, note, rerun_of) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_RUN_WITH_USER = (
    "INSERT INTO runs (started, finished, tool_version, methodology_sha256, methodology_name, "
    "methodology_version, methodology_path, dataset_sha256, dataset_path, params, status, "
    "entity_count, node_count, values_per_entity, note, rerun_of, user) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)



def record_run(
    conn: sqlite3.Connection,
    path: str,
    result: RunResult,
    dataset: Any = None,
    tool_version: str | None = None,
    note: str | None = None,
    started: Any = None,
    rerun_of: int | None = None,
    user: str | None = None,
) -> int:
    """Store a whole run in one transaction and return its id.

    `dataset`: any object with `path, format, sha256, rows, columns`, or None.
    `started`: when evaluation started (datetime or ISO text); default: now. `finished` is
    the time the run's rows were written, just before commit. `rerun_of`: the id of the run
    this one re-ran (`tierlang rerun`). `user`: who recorded it (None: not known). If anything fails, the transaction is rolled back
    and nothing of the run remains.

    The run is sealed in the same transaction (audit/integrity.py): its content hash, and
    its chain hash over the previous run's, read under the write lock.
    """
    started_text = iso(started)
    rows = build_rows(result, dataset)  # all the Python work, before taking the write lock
    body = integrity.body_of_rows(rows).digest()
    version = tool_version if tool_version is not None else installed_version()
    begin_write(conn, path)  # queues behind other writers
    try:
        run_id = _write_run(conn, rows, started_text, version, note, rerun_of, user)
        _write_entities(conn, run_id, rows)
        _write_nodes(conn, run_id, rows)
        first_value_id = _write_values(conn, run_id, rows)
        _write_scalars(conn, run_id, rows)
        _write_tier_steps(conn, run_id, rows)
        if rows.lower is not None:
            _write_lower(conn, run_id, rows)
        if rows.facts is not None:
            _write_facts(conn, run_id, rows)
        conn.execute(
            "UPDATE runs SET finished = ?, first_value_id = ? WHERE id = ?",
            (now_iso(), first_value_id, run_id),
        )
        integrity.seal(conn, run_id, body)
        conn.execute("COMMIT")
    except BaseException as e:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(e, sqlite3.OperationalError):  # disk full, read-only file, ...
            raise AuditError(f"cannot record in {path}: {e}; nothing was recorded") from e
        raise
    return run_id

def _write_run(
    conn: sqlite3.Connection,
    rows: RunRows,
    started: str,
    version: str,
    note: str | None,
    rerun_of: int | None,
    user: str | None = None,
) -> int:
    conn.execute(
        "INSERT OR IGNORE INTO methodologies (sha256, name, version, effective, entity, "
        "key_column, label_column, doc, path, source, sources) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows.methodology,
    )
    if rows.dataset is not None and rows.dataset[5] is None:  # one file: as before version 8
        conn.execute(
            "INSERT OR IGNORE INTO datasets (sha256, path, format, rows, columns) "
            "VALUES (?,?,?,?,?)",
            rows.dataset[:5],
        )
    elif rows.dataset is not None:  # several files: each one's own sha256 (version 8)
        conn.execute(
            "INSERT OR IGNORE INTO datasets (sha256, path, format, rows, columns, parts) "
            "VALUES (?,?,?,?,?,?)",
            rows.dataset,
        )
    r = rows.run
    # `user` (schema version 6) only when known: a run without one is stored as before
    insert = _INSERT_RUN_WITH_USER if user is not None else _INSERT_RUN
    cursor = conn.execute(
        insert,
        (
            started,
            started,
            version,
            r["methodology_sha256"],
            r["methodology_name"],
            r["methodology_version"],
            r["methodology_path"],
            r["dataset_sha256"],
            r["dataset_path"],
            r["params"],
            r["status"],
            r["entity_count"],
            r["node_count"],
            r["values_per_entity"],
            note,
            rerun_of,
            *((user,) if user is not None else ()),
        ),
    )
    return int(cursor.lastrowid)

def _write_entities(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> None:
    conn.executemany(
        "INSERT INTO entities (run, position, key, label) VALUES (?,?,?,?)",
        [(run_id, *row) for row in rows.entities],
    )

def _write_nodes(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> None:
    names = ("run", *NODE_COLUMNS)
    data = [(run_id, *row) for row in rows.nodes]
    if rows.lower is not None:  # a single-level run leaves `level`, `aggregates` NULL
        names += ("level", "aggregates")
        data = [(*row, *extra) for row, extra in zip(data, rows.lower.node_levels, strict=True)]
    columns = ", ".join(names)
    marks = ", ".join("?" * len(names))
    conn.executemany(f"INSERT INTO nodes ({columns}) VALUES ({marks})", data)

def _write_facts(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> None:
    """What the interpreter computed for explain, diff and reconcile (schema version 7)."""
    facts = rows.facts
    if integrity.codec_column(conn) == "codec":  # version 9: compressed matrices
        conn.executemany(
            "INSERT INTO node_components (run, node, entities, components, value, weight, "
            "coefficient, contribution, codec) VALUES (?,?,?,?,?,?,?,?,?)",
            [(run_id, *row[:3], *map(integrity.encode_matrix, row[3:]), integrity.COMPONENT_CODEC)
             for row in facts.components],
        )
    else:  # a store at version 7 or 8 (only as tests simulate an older tierlang): raw bytes
        conn.executemany(
            "INSERT INTO node_components (run, node, entities, components, value, weight, "
            "coefficient, contribution) VALUES (?,?,?,?,?,?,?,?)",
            [(run_id, *row) for row in facts.components],
        )
    conn.executemany(
        "INSERT INTO entity_ranks (run, tier, entity, rank, from_rank_top, from_rank_bottom) "
        "VALUES (?,?,?,?,?,?)",
        [(run_id, *row) for row in facts.ranks],
    )
    conn.executemany(
        "INSERT INTO node_branches (run, node, entity, taken, op, left_value, right_value) "
        "VALUES (?,?,?,?,?,?,?)",
        [(run_id, *row) for row in facts.branches],
    )
    conn.executemany(
        "INSERT INTO node_statistics (run, node, key, shown, name, item, grp, call, prefix, rule) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(run_id, *row) for row in facts.statistics],
    )

def _write_lower(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> None:
    """The lower levels: members, their values (consecutive ids, level by level), the
    levels with the first id of each level's values, the tier steps of their tiers."""
    lower = rows.lower
    conn.executemany(
        "INSERT INTO members (run, level, position, key, label, parent_key) "
        "VALUES (?,?,?,?,?,?)",
        [(run_id, *row) for row in lower.members],
    )
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM member_values").fetchone()[0]
    conn.executemany(
        "INSERT INTO member_values (run, level, member, node, num, text, bool, "
        "missing_reason) VALUES (?,?,?,?,?,?,?,?)",
        itertools.chain.from_iterable(
            v.rows(run_id, position) for position, v in enumerate(lower.values)
        ),
    )
    count = sum(len(v) for v in lower.values)
    last = conn.execute("SELECT coalesce(max(id), 0) FROM member_values").fetchone()[0]
    if last != first + count - 1:
        raise AuditError(
            f"member_values ids of run {run_id} are not consecutive "
            f"({first}..{last} for {count} rows)"
        )
    level_rows = []
    for row in lower.levels:
        level = dict(zip(LEVEL_COLUMNS, row))
        level_rows.append((run_id, *row, first))
        first += level["member_count"] * level["values_per_member"]
    columns = ", ".join(("run", *LEVEL_COLUMNS, "first_value_id"))
    marks = ", ".join("?" * (len(LEVEL_COLUMNS) + 2))
    conn.executemany(f"INSERT INTO levels ({columns}) VALUES ({marks})", level_rows)
    conn.executemany(
        "INSERT INTO member_tier_steps (run, level, tier, member, from_value, rule_index, "
        "before_limits, after, limits_acted, display) VALUES (?,?,?,?,?,?,?,?,?,?)",
        zip(itertools.repeat(run_id), lower.tier_levels, *lower.tiers.columns()),
    )

def _write_values(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> int:
    """Append the run's values with consecutive ids; returns the first id.

    Under the write lock, SQLite gives each new row the largest id so far plus one, so
    the run's rows get `first .. first + n - 1`, in the order given (entity-major). The
    check afterwards makes that an invariant rather than an assumption."""
    v = rows.values
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM node_values").fetchone()[0]
    conn.executemany(
        "INSERT INTO node_values (run, entity, node, num, text, bool, missing_reason) "
        "VALUES (?,?,?,?,?,?,?)",
        v.rows(run_id),
    )
    last = conn.execute("SELECT coalesce(max(id), 0) FROM node_values").fetchone()[0]
    if last != first + len(v) - 1:
        raise AuditError(
            f"node_values ids of run {run_id} are not consecutive "
            f"({first}..{last} for {len(v)} rows)"
        )
    return first

def _write_scalars(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> None:
    conn.executemany(
        "INSERT INTO scalars (run, node, position, name, value, text) VALUES (?,?,?,?,?,?)",
        [(run_id, *row) for row in rows.scalars],
    )

def _write_tier_steps(conn: sqlite3.Connection, run_id: int, rows: RunRows) -> None:
    conn.executemany(
        "INSERT INTO tier_steps (run, tier, entity, from_value, rule_index, before_limits, "
        "after, limits_acted, display) VALUES (?,?,?,?,?,?,?,?,?)",
        zip(itertools.repeat(run_id), *rows.tiers.columns()),
    )

