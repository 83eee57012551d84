"""The audit store: one SQLite file holding every recorded run, whole.

    store = open_store("audit.db")
    run_id = store.record(result, dataset)      # one transaction: the run is stored whole or not at all
    store.runs()                                # newest first
    entity = store.find_entity(run_id, "Dorset")

Every SQL statement here is parameterised: keys, labels and texts are bound, never spliced.
The schema and its guarantees are documented in docs/audit.md.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import itertools
import json
import logging
import math
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import sqlite_utils

from audit import integrity, schema, seals
from audit.recorder import LEVEL_COLUMNS, NODE_COLUMNS, RunRows, build_rows, iso, now_iso
from dsl import types as T
from dsl.errors import did_you_mean
from interpreter.trace import RunResult

BUSY_TIMEOUT_MS = 10_000
# Writers queue: a writer that finds another one writing waits BUSY_TIMEOUT_MS (SQLite's own
# busy handler), then tries again, with a growing pause in between, for WRITE_WAIT_S seconds in
# all before giving up (a healthy store's writers each finish in seconds; a lock held longer
# is a stuck process). Each retry is logged (INFO) to the logger `tierlang.audit.queue`: the
# CLI prints it as a progress line on stderr.
WRITE_WAIT_S = 600.0
_QUEUE = logging.getLogger("tierlang.audit.queue")


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite gave up because another connection holds the lock (SQLITE_BUSY, LOCKED)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)
    return "locked" in str(error) or "busy" in str(error)


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


class AuditError(Exception):
    """An audit store problem a user can act on: unknown run or entity, a store written by a
    newer tierlang, a file that is not an audit store."""

    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.suggestion = suggestion


def installed_version() -> str:
    """The installed tierlang's version (recorded with each run by default)."""
    try:
        return importlib.metadata.version("tierlang")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@attrs.frozen
class RunInfo:
    id: int
    started: str
    finished: str
    tool_version: str
    status: str
    methodology_sha256: str
    methodology_name: str
    methodology_version: str | None
    methodology_path: str | None
    entity_kind: str | None
    dataset_sha256: str | None
    dataset_path: str | None
    params: dict[str, Any]
    entity_count: int
    node_count: int
    values_per_entity: int  # nodes with values: node positions 0 .. values_per_entity - 1
    first_value_id: int | None  # node_values.id of entity 0, node 0
    note: str | None
    content_hash: str | None = None  # audit.integrity: this run's rows, hashed
    chain_hash: str | None = None  # links the run to the previous run's chain hash
    rerun_of: int | None = None  # the run whose methodology and params this run re-ran
    user: str | None = None  # who recorded the run (schema version 6; None: not known)

    def value_ids(self, position: int) -> tuple[int, int]:
        """First and last `node_values.id` of the entity at `position`."""
        first = (self.first_value_id or 0) + position * self.values_per_entity
        return first, first + self.values_per_entity - 1

    def to_json(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class EntityRef:
    run: int
    position: int  # 0-based, in data order; `node_values.entity` and `tier_steps.entity`
    key: str
    label: str | None
    # entities at several levels: the lower level of a member (None: the top level), whose
    # `position` is then `members.position` (`member_values.member`), and its parent's key
    level: str | None = None
    parent_key: str | None = None

    @property
    def is_member(self) -> bool:
        return self.level is not None


@attrs.frozen
class LevelInfo:
    """One lower level of a run (entities at several levels): a `levels` row."""

    run: int
    position: int  # 0-based, each level after its parent
    name: str
    parent: str  # the level it lies within (the top level's name for the first)
    key_column: str | None
    label_column: str | None
    member_count: int
    first_node: int  # its nodes have positions first_node .. first_node + values_per_member - 1
    values_per_member: int
    first_value_id: int | None  # member_values.id of member 0, its first node

    def value_ids(self, position: int) -> tuple[int, int]:
        """First and last `member_values.id` of the member at `position`."""
        first = (self.first_value_id or 0) + position * self.values_per_member
        return first, first + self.values_per_member - 1


@attrs.frozen
class RecordedComponent:
    """One component of an additive node for one entity, as the run computed it."""

    name: str
    value: float | None
    weight: float | None
    coefficient: float | None  # the weight after normalise / skip missing re-normalised it
    contribution: float | None  # coefficient x value


@attrs.frozen
class RecordedRank:
    rank: int | None  # the rank `tierlang run` showed (by tier, then score)
    from_rank_top: int | None  # the `from` value's competition rank from the top
    from_rank_bottom: int | None
    rated: int  # entities with a rank (a tier)
    scored: int  # entities with a `from` value


@attrs.frozen
class RecordedStatistic:
    """A statistic a node used, as the interpreter typed it (interpreter.trace.Statistic)."""

    shown: str  # its name without the `within` group: cut_1, zscore#2.mean, gold.edge
    name: str  # cut, mean, sd, n, ...
    index: int | None
    group: str | None
    call: str | None
    prefix: str | None
    rule: str | None
    value: Any


@attrs.frozen
class RecordedBranch:
    taken: str | None  # "then" / "else", or the component max / min gave
    op: str | None  # the comparison of the `if`, when it compared two numbers
    left: float | None
    right: float | None


@attrs.frozen
class NodeInfo:
    """A recorded node; JSON columns decoded."""

    run: int
    name: str
    position: int  # evaluation order; `node_values.node`
    kind: str
    label: str | None
    doc: str | None
    source_text: str | None
    expression: str | None
    file: str | None
    line: int | None
    overrides: str | None
    type: str
    base: str
    scalar: bool
    dependencies: tuple[str, ...]
    scale: tuple[str, ...] | None  # worst first
    call: dict | None
    weights: dict[str, float] | None
    tier: dict | None
    data_column: str | None
    range: tuple[float, float] | None
    required: bool
    declared_value: Any
    level: str | None = None  # the lower level it is evaluated at; None: the top level or scalar
    aggregates: tuple[dict, ...] = ()  # its `F(x) over LEVEL` calls: function, over, argument, reads

    @property
    def title(self) -> str:
        return self.label or self.name


@attrs.frozen
class TierStep:
    tier: str
    entity: int
    from_value: float | None
    rule_index: int  # 0-based; -1: no rule assigned the tier
    before_limits: str | None
    after: tuple[str | None, ...]  # the tier after each limit, in limit order
    limits_acted: tuple[int, ...]  # 0-based indices of the limits that changed the tier
    display: str | None


_RUN_SELECT = """
SELECT r.*, m.entity AS entity_kind
FROM runs r LEFT JOIN methodologies m ON m.sha256 = r.methodology_sha256
"""


def _stored_json(text: Any, where: str, column: str) -> Any:
    """A JSON column tierlang wrote; anything else (NULL, not JSON) is damage, said as such."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise sqlite3.DatabaseError(f"{where}: its {column} cannot be read ({e})") from None


def _run_info(row: dict) -> RunInfo:
    return RunInfo(
        id=row["id"],
        started=row["started"],
        finished=row["finished"],
        tool_version=row["tool_version"],
        status=row["status"],
        methodology_sha256=row["methodology_sha256"],
        methodology_name=row["methodology_name"],
        methodology_version=row["methodology_version"],
        methodology_path=row["methodology_path"],
        entity_kind=row["entity_kind"],
        dataset_sha256=row["dataset_sha256"],
        dataset_path=row["dataset_path"],
        params=_stored_json(row["params"], f"run {row['id']}", "params"),
        entity_count=row["entity_count"],
        node_count=row["node_count"],
        values_per_entity=row["values_per_entity"],
        first_value_id=row["first_value_id"],
        note=row["note"],
        content_hash=row.get("content_hash"),
        chain_hash=row.get("chain_hash"),
        rerun_of=row.get("rerun_of"),
        user=row.get("user"),
    )


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def decode_value(base: str, num: float | None, text: str | None, boolean: int | None) -> Any:
    """A stored value as a plain Python value (None when missing)."""
    if base == T.NUMBER:
        return num
    if base == T.BOOLEAN:
        return None if boolean is None else bool(boolean)
    if base == T.LIST:
        return None if text is None else tuple(json.loads(text))
    return text


def is_read_only(error: sqlite3.Error) -> bool:
    """Whether SQLite refused a write because the store (file, folder or medium) is read-only."""
    return getattr(error, "sqlite_errorcode", None) in _READ_ONLY_CODES or "readonly" in str(error)


_READ_ONLY_CODES = {8, 264, 520, 776, 1032, 1288, 1544}  # SQLITE_READONLY and its extended codes


def open_store(path: str | Path, create: bool = True) -> AuditStore:
    """Open the audit store at `path`, creating it (or migrating it) if needed.

    With `create=False` a missing or empty file is an AuditError instead (for commands that
    only read, such as `explain` and `runs`)."""
    path_text = str(path)
    if (
        not create
        and path_text != ":memory:"
        and (not Path(path_text).exists() or Path(path_text).stat().st_size == 0)
    ):
        raise AuditError(
            f"no audit store at {path_text}: record a run first "
            f"(tierlang run METHODOLOGY --data DATA --audit {path_text})"
        )
    try:
        conn = sqlite3.connect(path_text, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.OperationalError as e:
        raise AuditError(f"cannot open audit store {path_text}: {e}") from e
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        _migrate(db, path_text)
        _seal_older_records(conn)
        if db.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as e:
                # a read-only store stays readable (runs, explain, verify, diff --runs); a store
                # another process holds is switched by a later open (WAL is kept in the file, and
                # the rollback journal is as safe, only less concurrent)
                if not (is_read_only(e) or "locked" in str(e) or "busy" in str(e)):
                    raise
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise AuditError(f"{path_text} is not a usable audit store: {e}") from e
    except BaseException:
        conn.close()
        raise
    return AuditStore(db, path_text)


def _check_version(db: sqlite_utils.Database, path: str) -> int:
    version = schema.current_version(db)
    if version > schema.SCHEMA_VERSION:
        raise AuditError(
            f"audit store {path} has schema version {version}, but this tierlang "
            f"({installed_version()}) knows versions up to {schema.SCHEMA_VERSION}: it was written "
            "by a newer tierlang; upgrade tierlang to use it"
        )
    if version == 0 and [t for t in db.table_names() if not t.startswith("sqlite_")]:
        raise AuditError(f"{path} is a SQLite database but not a tierlang audit store")
    return version


def _migrate(db: sqlite_utils.Database, path: str) -> None:
    if _check_version(db, path) == schema.SCHEMA_VERSION:
        return
    try:
        db.conn.execute("BEGIN IMMEDIATE")  # re-read under the write lock: one process migrates
        version = _check_version(db, path)
        for _description, migration in schema.MIGRATIONS[version:]:
            migration(db)
        if version < schema.SCHEMA_VERSION:
            schema.set_version(db, schema.SCHEMA_VERSION)
        db.conn.execute("COMMIT")
    except sqlite3.OperationalError as e:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        if not is_read_only(e):
            raise
        # a read-only store of an older version is read as it is (the readers check which
        # tables and columns it has); a command that records says the store is read-only
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise


def _seal_older_records(conn: sqlite3.Connection) -> None:
    """The first open by a tierlang with seals seals the comparisons and analyses recorded
    before seals, as legacy, and sets the marker (audit/seals.py), in one transaction. A store
    that cannot be written now (read-only, busy past the timeout, damaged) is left as it is:
    its first seal does this in its own transaction, and verify reports what it finds."""
    try:
        if seals.first_open(conn) is not None:
            return
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.DatabaseError:
        return
    try:
        seals.mark_first_open(conn)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


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


class AuditStore:
    def __init__(self, db: sqlite_utils.Database, path: str):
        self.db = db
        self.path = path

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return schema.current_version(self.db)

    # ------------------------------------------------------------ recording

    def record(
        self,
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
        conn = self.conn
        begin_write(conn, self.path)  # queues behind other writers
        try:
            run_id = self._write_run(rows, started_text, version, note, rerun_of, user)
            self._write_entities(run_id, rows)
            self._write_nodes(run_id, rows)
            first_value_id = self._write_values(run_id, rows)
            self._write_scalars(run_id, rows)
            self._write_tier_steps(run_id, rows)
            if rows.lower is not None:
                self._write_lower(run_id, rows)
            if rows.facts is not None:
                self._write_facts(run_id, rows)
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
                raise AuditError(f"cannot record in {self.path}: {e}; nothing was recorded") from e
            raise
        return run_id

    def _write_run(
        self,
        rows: RunRows,
        started: str,
        version: str,
        note: str | None,
        rerun_of: int | None,
        user: str | None = None,
    ) -> int:
        conn = self.conn
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

    def _write_entities(self, run_id: int, rows: RunRows) -> None:
        self.conn.executemany(
            "INSERT INTO entities (run, position, key, label) VALUES (?,?,?,?)",
            [(run_id, *row) for row in rows.entities],
        )

    def _write_nodes(self, run_id: int, rows: RunRows) -> None:
        names = ("run", *NODE_COLUMNS)
        data = [(run_id, *row) for row in rows.nodes]
        if rows.lower is not None:  # a single-level run leaves `level`, `aggregates` NULL
            names += ("level", "aggregates")
            data = [(*row, *extra) for row, extra in zip(data, rows.lower.node_levels, strict=True)]
        columns = ", ".join(names)
        marks = ", ".join("?" * len(names))
        self.conn.executemany(f"INSERT INTO nodes ({columns}) VALUES ({marks})", data)

    def _write_facts(self, run_id: int, rows: RunRows) -> None:
        """What the interpreter computed for explain, diff and reconcile (schema version 7)."""
        facts = rows.facts
        conn = self.conn
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

    def _write_lower(self, run_id: int, rows: RunRows) -> None:
        """The lower levels: members, their values (consecutive ids, level by level), the
        levels with the first id of each level's values, the tier steps of their tiers."""
        lower = rows.lower
        conn = self.conn
        conn.executemany(
            "INSERT INTO members (run, level, position, key, label, parent_key) "
            "VALUES (?,?,?,?,?,?)",
            [(run_id, *row) for row in lower.members],
        )
        v = lower.values
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM member_values").fetchone()[0]
        conn.executemany(
            "INSERT INTO member_values (run, level, member, node, num, text, bool, "
            "missing_reason) VALUES (?,?,?,?,?,?,?,?)",
            zip(
                itertools.repeat(run_id),
                lower.value_levels,
                v.entity,
                v.node,
                v.num,
                v.text,
                v.bool,
                v.reason,
            ),
        )
        last = conn.execute("SELECT coalesce(max(id), 0) FROM member_values").fetchone()[0]
        if last != first + len(v) - 1:
            raise AuditError(
                f"member_values ids of run {run_id} are not consecutive "
                f"({first}..{last} for {len(v)} rows)"
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

    def _write_values(self, run_id: int, rows: RunRows) -> int:
        """Append the run's values with consecutive ids; returns the first id.

        Under the write lock, SQLite gives each new row the largest id so far plus one, so
        the run's rows get `first .. first + n - 1`, in the order given (entity-major). The
        check afterwards makes that an invariant rather than an assumption."""
        v = rows.values
        conn = self.conn
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM node_values").fetchone()[0]
        conn.executemany(
            "INSERT INTO node_values (run, entity, node, num, text, bool, missing_reason) "
            "VALUES (?,?,?,?,?,?,?)",
            zip(itertools.repeat(run_id), v.entity, v.node, v.num, v.text, v.bool, v.reason),
        )
        last = conn.execute("SELECT coalesce(max(id), 0) FROM node_values").fetchone()[0]
        if last != first + len(v) - 1:
            raise AuditError(
                f"node_values ids of run {run_id} are not consecutive "
                f"({first}..{last} for {len(v)} rows)"
            )
        return first

    def _write_scalars(self, run_id: int, rows: RunRows) -> None:
        self.conn.executemany(
            "INSERT INTO scalars (run, node, position, name, value, text) VALUES (?,?,?,?,?,?)",
            [(run_id, *row) for row in rows.scalars],
        )

    def _write_tier_steps(self, run_id: int, rows: RunRows) -> None:
        self.conn.executemany(
            "INSERT INTO tier_steps (run, tier, entity, from_value, rule_index, before_limits, "
            "after, limits_acted, display) VALUES (?,?,?,?,?,?,?,?,?)",
            zip(itertools.repeat(run_id), *rows.tiers.columns()),
        )

    # ------------------------------------------------------------ runs

    def runs(self) -> list[RunInfo]:
        """Every recorded run, newest first."""
        return [_run_info(row) for row in self.db.query(_RUN_SELECT + " ORDER BY r.id DESC")]

    def latest_run_id(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM runs").fetchone()
        if row[0] is None:
            raise AuditError(f"the audit store {self.path} has no runs yet")
        return int(row[0])

    def run(self, run_id: int) -> RunInfo:
        rows = list(self.db.query(_RUN_SELECT + " WHERE r.id = ?", [run_id]))
        if not rows:
            ids = [r[0] for r in self.conn.execute("SELECT id FROM runs ORDER BY id")]
            known = f"runs recorded: {_id_ranges(ids)}" if ids else "no runs are recorded"
            raise AuditError(f"no run {run_id} in the audit store {self.path} ({known})")
        return _run_info(rows[0])

    def methodology(self, sha256: str) -> dict:
        rows = list(self.db.query("SELECT * FROM methodologies WHERE sha256 = ?", [sha256]))
        if not rows:
            raise AuditError(f"no methodology {sha256} in the audit store {self.path}")
        row = rows[0]
        row["sources"] = [tuple(s) for s in json.loads(row["sources"])]
        return row

    def dataset(self, sha256: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM datasets WHERE sha256 = ?", [sha256]))
        if not rows:
            return None
        row = rows[0]
        row["columns"] = _loads(row["columns"])
        if "parts" in row:  # schema version 8: each data file's own sha256 (None for one file)
            with contextlib.suppress(TypeError, ValueError):  # damaged: kept as stored (its hash fails)
                row["parts"] = _loads(row["parts"])
        return row

    # ------------------------------------------------------------ entities

    def entities(self, run_id: int) -> list[EntityRef]:
        return [
            EntityRef(run_id, position, key, label)
            for position, key, label in self.conn.execute(
                "SELECT position, key, label FROM entities WHERE run = ? ORDER BY position",
                (run_id,),
            )
        ]

    def find_entity(self, run_id: int, text: str) -> EntityRef:
        """The entity whose key is `text`; else whose label is; else the same ignoring case and
        surrounding spaces. Raises AuditError (with a did-you-mean suggestion) otherwise.

        In a run with lower levels every level is searched (the EntityRef says which level:
        `level` is None for the top level); a key or label found at several levels is an error
        naming them, and `LEVEL:TEXT` (`location:L1`) searches one level only."""
        info = self.run(run_id)
        kind = info.entity_kind or "entity"
        levels = self.levels(run_id)
        if not levels:
            return self._find_top(run_id, info, kind, text)
        return self._find_any(run_id, info, kind, levels, text)

    def _find_top(self, run_id: int, info: RunInfo, kind: str, text: str) -> EntityRef:
        row = self.conn.execute(
            "SELECT position, key, label FROM entities WHERE run = ? AND key = ?", (run_id, text)
        ).fetchone()
        if row is not None:
            return EntityRef(run_id, *row)
        rows = self.conn.execute(
            "SELECT position, key, label FROM entities WHERE run = ? AND label = ? ORDER BY position",
            (run_id, text),
        ).fetchall()
        if len(rows) == 1:
            return EntityRef(run_id, *rows[0])
        if len(rows) > 1:
            raise _ambiguous(kind, text, [EntityRef(run_id, *r) for r in rows])
        everything = self.entities(run_id)
        found = _folded_match(kind, text, everything)
        if found is not None:
            return found
        raise _not_found(
            text, everything, f"no {kind} '{text}' among the {info.entity_count} of run {run_id}"
        )

    def _find_any(
        self, run_id: int, info: RunInfo, kind: str, levels: list[LevelInfo], text: str
    ) -> EntityRef:
        q = self.conn.execute
        top_name = info.entity_kind or "entity"
        names = [top_name, *(lv.name for lv in levels)]
        for column in ("key", "label"):
            where = "key = ?" if column == "key" else "label = ?"
            matches = [
                EntityRef(run_id, *r)
                for r in q(
                    f"SELECT position, key, label FROM entities WHERE run = ? AND {where} "
                    "ORDER BY position",
                    (run_id, text),
                )
            ]
            if column == "key":  # one index seek per level (members_run_key)
                for lv in levels:
                    matches += self._members_where(
                        run_id, "m.level = ? AND m.key = ?", (lv.name, text)
                    )
            else:  # members_run_label
                matches += self._members_where(run_id, "m.label = ?", (text,))
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise _ambiguous(kind, text, matches, names)
            prefix, colon, rest = text.partition(":")
            if column == "key" and colon and prefix.strip() in names:
                return self._find_within(run_id, prefix.strip(), top_name, rest.strip())
        everything = self.entities(run_id) + self._members_where(run_id, "1", ())
        found = _folded_match(kind, text, everything, names)
        if found is not None:
            return found
        sizes = [(info.entity_count, top_name)] + [(lv.member_count, lv.name) for lv in levels]
        counts = ", ".join(f"{n} {plural(name, n)}" for n, name in sizes)
        kinds = f"{', '.join(names[:-1])} or {names[-1]}"
        message = f"no {kinds} '{text}' in run {run_id} ({counts})"
        raise _not_found(text, everything, message)

    def _find_within(self, run_id: int, level: str, top_name: str, text: str) -> EntityRef:
        """`LEVEL:TEXT`: the entity of that one level whose key, else label, is `text` (then
        ignoring case and spaces)."""
        for column in ("key", "label"):
            where = "key = ?" if column == "key" else "label = ?"
            if level == top_name:
                matches = [
                    EntityRef(run_id, *r)
                    for r in self.conn.execute(
                        f"SELECT position, key, label FROM entities WHERE run = ? AND {where} "
                        "ORDER BY position",
                        (run_id, text),
                    )
                ]
            else:
                matches = self._members_where(run_id, f"m.level = ? AND m.{where}", (level, text))
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise _ambiguous(level, text, matches)
        entities = self.entities(run_id) if level == top_name else self.members(run_id, level)
        found = _folded_match(level, text, entities)
        if found is not None:
            return found
        raise _not_found(
            text, entities, f"no {level} '{text}' among the {len(entities)} of run {run_id}"
        )

    def _members_where(self, run_id: int, where: str, args: tuple) -> list[EntityRef]:
        return [
            EntityRef(run_id, position, key, label, level, parent)
            for level, position, key, label, parent in self.conn.execute(
                "SELECT m.level, m.position, m.key, m.label, m.parent_key FROM members m "
                "JOIN levels l ON l.run = m.run AND l.name = m.level "
                f"WHERE m.run = ? AND {where} ORDER BY l.position, m.position",
                (run_id, *args),
            )
        ]

    # ------------------------------------------------------------ lower levels

    def levels(self, run_id: int) -> list[LevelInfo]:
        """The run's lower levels, each after its parent; empty for a single-level run."""
        columns = ", ".join((*LEVEL_COLUMNS, "first_value_id"))
        return [
            LevelInfo(run_id, *row)
            for row in self.conn.execute(
                f"SELECT {columns} FROM levels WHERE run = ? ORDER BY position", (run_id,)
            )
        ]

    def level(self, run_id: int, name: str) -> LevelInfo:
        for lv in self.levels(run_id):
            if lv.name == name:
                return lv
        raise AuditError(f"run {run_id} has no entity level '{name}'")

    def members(
        self, run_id: int, level: str, parent_key: str | None = None
    ) -> list[EntityRef]:
        """The entities of a lower level in data order (those within `parent_key` only, if
        given: the key of an entity of the level's parent level)."""
        if parent_key is None:
            return self._members_where(run_id, "m.level = ?", (level,))
        return self._members_where(
            run_id, "m.level = ? AND m.parent_key = ?", (level, parent_key)
        )

    def parent(self, run_id: int, entity: EntityRef) -> EntityRef | None:
        """The entity `entity` lies within (None for a top-level entity, or a member whose
        parent is not recorded)."""
        if entity.level is None or entity.parent_key is None:
            return None
        level = self.level(run_id, entity.level)
        if level.parent not in {lv.name for lv in self.levels(run_id)}:  # the top level
            row = self.conn.execute(
                "SELECT position, key, label FROM entities WHERE run = ? AND key = ?",
                (run_id, entity.parent_key),
            ).fetchone()
            return None if row is None else EntityRef(run_id, *row)
        found = self._members_where(
            run_id, "m.level = ? AND m.key = ?", (level.parent, entity.parent_key)
        )
        return found[0] if found else None

    def ancestors(self, run_id: int, entity: EntityRef) -> list[EntityRef]:
        """The entities `entity` lies within, nearest first, up to its top-level entity."""
        out = []
        current = self.parent(run_id, entity)
        while current is not None and len(out) < 64:
            out.append(current)
            current = self.parent(run_id, current)
        return out

    def descendants(self, run_id: int, entity: EntityRef, level: str) -> list[EntityRef]:
        """The members of `level` that lie within `entity` (at any depth), in data order."""
        levels = {lv.name: lv for lv in self.levels(run_id)}
        if level == entity.level:
            return []
        path = []  # the levels from `level` up to just below the entity's level
        current = level
        while current in levels and len(path) <= len(levels):
            path.append(current)
            parent = levels[current].parent
            if parent == entity.level or (entity.level is None and parent not in levels):
                break
            current = parent
        else:
            return []  # `level` does not lie below the entity's level
        keys = [entity.key]
        found: list[EntityRef] = []
        for name in reversed(path):
            found = []
            for key in keys:
                found += self.members(run_id, name, key)
            keys = [m.key for m in found]
        return sorted(found, key=lambda m: m.position)

    def member_values(
        self, run_id: int, level: str | LevelInfo, position: int
    ) -> dict[str, tuple[Any, str | None]]:
        """Every node's (value, missing reason) for one member of a lower level (its name, or
        its LevelInfo to save looking it up): one index range read."""
        info = level if isinstance(level, LevelInfo) else self.level(run_id, level)
        return self._named_values(
            "SELECT n.name, n.base, v.num, v.text, v.bool, v.missing_reason "
            "FROM member_values v JOIN nodes n ON n.run = v.run AND n.position = v.node "
            "WHERE v.id BETWEEN ? AND ? ORDER BY v.id", info.value_ids(position))

    def _named_values(self, sql: str, ids: tuple[int, int]) -> dict[str, tuple[Any, str | None]]:
        out = {}
        for name, base, num, text, boolean, reason in self.conn.execute(sql, ids):
            out[name] = (decode_value(base, num, text, boolean), reason)
        return out

    # ------------------------------------------------------------ nodes and values

    def nodes(self, run_id: int) -> list[NodeInfo]:
        """Every node of a run, in evaluation order."""
        return [
            self._node_info(row)
            for row in self.db.query(
                "SELECT * FROM nodes WHERE run = ? ORDER BY position", [run_id]
            )
        ]

    def node(self, run_id: int, name: str) -> NodeInfo:
        rows = list(self.db.query("SELECT * FROM nodes WHERE run = ? AND name = ?", [run_id, name]))
        if not rows:
            names = [n.name for n in self.nodes(run_id)]
            suggestion = did_you_mean(name, names)
            hint = f"; did you mean '{suggestion}'?" if suggestion else ""
            raise AuditError(f"no node '{name}' in run {run_id}{hint}", suggestion=suggestion)
        return self._node_info(rows[0])

    @staticmethod
    def _node_info(row: dict) -> NodeInfo:
        rng = _loads(row["range"])
        scale = _loads(row["scale"])
        return NodeInfo(
            run=row["run"],
            name=row["name"],
            position=row["position"],
            kind=row["kind"],
            label=row["label"],
            doc=row["doc"],
            source_text=row["source_text"],
            expression=row["expression"],
            file=row["file"],
            line=row["line"],
            overrides=row["overrides"],
            type=row["type"],
            base=row["base"],
            scalar=bool(row["scalar"]),
            dependencies=tuple(_loads(row["dependencies"]) or ()),
            scale=tuple(scale) if scale is not None else None,
            call=_loads(row["call"]),
            weights=_loads(row["weights"]),
            tier=_loads(row["tier"]),
            data_column=row["data_column"],
            range=tuple(rng) if rng is not None else None,
            required=bool(row["required"]),
            declared_value=_loads(row["declared_value"]),
            level=row.get("level"),
            aggregates=tuple(_loads(row.get("aggregates")) or ()),
        )

    def entity_values(self, run_id: int, position: int) -> dict[str, tuple[Any, str | None]]:
        """Every node's (value, missing reason) for one entity: one index range read."""
        return self._named_values(
            "SELECT n.name, n.base, v.num, v.text, v.bool, v.missing_reason "
            "FROM node_values v JOIN nodes n ON n.run = v.run AND n.position = v.node "
            "WHERE v.id BETWEEN ? AND ? ORDER BY v.id", self.run(run_id).value_ids(position))

    def values(self, run_id: int, node: str) -> pd.Series:
        """One node's values for every entity, indexed by key, in the representation of
        interpreter/trace.py (float64, nullable boolean, ordered categorical, object). A lower
        level's node: for every member of its level, indexed by the members' keys."""
        info = self.node(run_id, node)
        keys = self._keys_of(run_id, info)
        rows = self._node_rows(run_id, info, "num, text, bool")
        if len(rows) != len(keys):
            raise AuditError(f"node '{node}' of run {run_id} has no recorded values")
        if info.base == T.NUMBER:
            return pd.Series(
                np.array([r[0] for r in rows], dtype=np.float64), index=keys, name=node
            )
        if info.base == T.BOOLEAN:
            data = pd.array([None if r[2] is None else bool(r[2]) for r in rows], dtype="boolean")
            return pd.Series(data, index=keys, name=node)
        if info.base == T.LEVEL:
            data = pd.Categorical(
                [r[1] for r in rows], categories=list(info.scale or ()), ordered=True
            )
            return pd.Series(data, index=keys, name=node)
        texts = [decode_value(info.base, None, r[1], None) for r in rows]
        return pd.Series(texts, index=keys, name=node, dtype=object)

    def reasons(self, run_id: int, node: str) -> pd.Series:
        """One node's missing reasons (None where present), indexed by key."""
        info = self.node(run_id, node)
        keys = self._keys_of(run_id, info)
        rows = self._node_rows(run_id, info, "missing_reason")
        return pd.Series([r[0] for r in rows], index=keys[: len(rows)], name=node, dtype=object)

    def _keys_of(self, run_id: int, info: NodeInfo) -> pd.Index:
        if info.level is None:
            return pd.Index([e.key for e in self.entities(run_id)])
        return pd.Index([m.key for m in self.members(run_id, info.level)])

    def _node_rows(self, run_id: int, info: NodeInfo, columns: str) -> list[tuple]:
        if info.level is None:
            run = self.run(run_id)
            table, first = "node_values", run.first_value_id or 0
            last = first + run.entity_count * run.values_per_entity - 1
        else:
            level = self.level(run_id, info.level)
            table, first = "member_values", level.first_value_id or 0
            last = first + level.member_count * level.values_per_member - 1
        return self.conn.execute(
            f"SELECT {columns} FROM {table} WHERE id BETWEEN ? AND ? AND node = ? ORDER BY id",
            (first, last, info.position),
        ).fetchall()

    def _node_level(self, run_id: int, name: str) -> str | None:
        row = self.conn.execute(
            "SELECT level FROM nodes WHERE run = ? AND name = ?", (run_id, name)
        ).fetchone()
        return None if row is None else row[0]

    def scalars(self, run_id: int, node: str | None = None) -> dict[str, dict[str, Any]]:
        """{node: {name: value}} in recorded order; numbers as floats, texts as str."""
        sql = "SELECT node, name, value, text FROM scalars WHERE run = ?"
        args: list[Any] = [run_id]
        if node is not None:
            sql += " AND node = ?"
            args.append(node)
        out: dict[str, dict[str, Any]] = {}
        for n, name, value, text in self.conn.execute(sql + " ORDER BY node, position", args):
            out.setdefault(n, {})[name] = text if text is not None else value
        return out

    def tier_steps(self, run_id: int, tier: str, position: int | None = None) -> list[TierStep]:
        """A tier's steps for every entity (or the one at `position`); for a lower level's
        tier, for its members (`TierStep.entity` is then the member position)."""
        if self._node_level(run_id, tier) is None:
            sql = (
                "SELECT tier, entity, from_value, rule_index, before_limits, after, "
                "limits_acted, display FROM tier_steps WHERE run = ? AND tier = ?"
            )
            column = "entity"
        else:
            sql = (
                "SELECT tier, member, from_value, rule_index, before_limits, after, "
                "limits_acted, display FROM member_tier_steps WHERE run = ? AND tier = ?"
            )
            column = "member"
        args: list[Any] = [run_id, tier]
        if position is not None:
            sql += f" AND {column} = ?"
            args.append(position)
        return [
            TierStep(t, e, f, r, b, tuple(json.loads(a)), tuple(json.loads(acted)), d)
            for t, e, f, r, b, a, acted, d in self.conn.execute(
                sql + f" ORDER BY {column}", args
            )
        ]

    # ------------------------------------------------------------ recorded facts (version 7)

    def _has_facts_tables(self) -> bool:
        return "entity_ranks" in self.db.table_names()

    def has_facts(self, run_id: int) -> bool:
        """Whether the run recorded the facts of schema version 7 (a run recorded before has
        none: explain then says what it cannot show)."""
        return self._has_facts_tables() and integrity.has_facts(self.conn, run_id)

    def components(self, run_id: int, node: str, position: int) -> list[RecordedComponent]:
        """The components of an additive node for the entity at `position` of its level, as
        the interpreter computed them (empty when not recorded)."""
        if not self._has_facts_tables():
            return []
        row = self.conn.execute(
            "SELECT components, entities FROM node_components WHERE run = ? AND node = ?", (run_id, node)
        ).fetchone()
        if row is None or not isinstance(row[1], int) or not 0 <= position < row[1]:
            return []
        names = _loads(row[0]) or []
        width = 8 * len(names)
        cells = self.conn.execute(  # the entity's slice of each matrix (audit.recorder.matrix_blob)
            "SELECT substr(value, ?1, ?2), substr(weight, ?1, ?2), substr(coefficient, ?1, ?2), "
            "substr(contribution, ?1, ?2) FROM node_components WHERE run = ?3 AND node = ?4",
            (1 + position * width, width, run_id, node),
        ).fetchone()
        columns = [_floats(c, len(names)) for c in cells]
        return [RecordedComponent(str(name), *(col[i] for col in columns)) for i, name in enumerate(names)]

    def rank(self, run_id: int, tier: str, position: int) -> RecordedRank | None:
        """The entity's recorded ranks in a tier, with how many entities were ranked (None
        when not recorded)."""
        if not self._has_facts_tables():
            return None
        row = self.conn.execute(
            "SELECT rank, from_rank_top, from_rank_bottom FROM entity_ranks "
            "WHERE run = ? AND tier = ? AND entity = ?",
            (run_id, tier, position),
        ).fetchone()
        if row is None:
            return None
        rated, scored = self.conn.execute(
            "SELECT count(rank), count(from_rank_top) FROM entity_ranks WHERE run = ? AND tier = ?",
            (run_id, tier),
        ).fetchone()
        return RecordedRank(row[0], row[1], row[2], int(rated), int(scored))

    def branch(self, run_id: int, node: str, position: int) -> RecordedBranch | None:
        if not self._has_facts_tables():
            return None
        row = self.conn.execute(
            "SELECT taken, op, left_value, right_value FROM node_branches "
            "WHERE run = ? AND node = ? AND entity = ?",
            (run_id, node, position),
        ).fetchone()
        return None if row is None else RecordedBranch(*row)

    def statistics(self, run_id: int) -> dict[str, list[RecordedStatistic]]:
        """Node -> its statistics, typed, with their values from `scalars`, in recorded order
        (empty for a run recorded before version 7)."""
        if not self._has_facts_tables():
            return {}
        out: dict[str, list[RecordedStatistic]] = {}
        for node, shown, name, item, grp, call, prefix, rule, value, text in self.conn.execute(
            "SELECT t.node, t.shown, t.name, t.item, t.grp, t.call, t.prefix, t.rule, s.value, s.text "
            "FROM node_statistics t JOIN scalars s ON s.run = t.run AND s.node = t.node AND s.name = t.key "
            "WHERE t.run = ? ORDER BY t.node, s.position",
            (run_id,),
        ):
            out.setdefault(node, []).append(
                RecordedStatistic(shown, name, item, grp, call, prefix, rule, value if text is None else text))
        return out

    def tier_ranks(self, run_id: int, tier: str) -> dict[int, tuple[int | None, int | None, int | None]]:
        """Entity position -> (rank `tierlang run` showed, `from` rank from the top, from the
        bottom), as recorded for a tier (empty for a run recorded before version 7)."""
        if not self._has_facts_tables():
            return {}
        return {
            e: (r, top, bottom)
            for e, r, top, bottom in self.conn.execute(
                "SELECT entity, rank, from_rank_top, from_rank_bottom FROM entity_ranks "
                "WHERE run = ? AND tier = ?",
                (run_id, tier),
            )
        }

    def index_ranks(self, run_id: int, level: str | None = None) -> tuple[str, dict[int, int | None]] | None:
        """For an index (a level without tiers, ranked by a score: interpreter.ranking.index_score):
        the score node and entity position -> the rank `tierlang run` showed, as recorded under
        the score's name; None when the run recorded none (a run with tiers, or recorded
        before index ranks were)."""
        if not self._has_facts_tables():
            return None
        row = self.conn.execute(
            "SELECT n.name FROM nodes n WHERE n.run = ? AND n.kind = 'score' AND n.level IS ? "
            "AND EXISTS (SELECT 1 FROM entity_ranks r WHERE r.run = n.run AND r.tier = n.name) "
            "ORDER BY n.position DESC LIMIT 1",
            (run_id, level),
        ).fetchone()
        if row is None:
            return None
        return row[0], {e: r for e, r in self.conn.execute(
            "SELECT entity, rank FROM entity_ranks WHERE run = ? AND tier = ?", (run_id, row[0]))}

    # ------------------------------------------------------------ integrity

    def verify(self, run_id: int | None = None) -> list[str]:
        """Problems found (empty when sound): the store-wide checks and, for each run, its rows'
        shape (audit.integrity). Content hashes and re-evaluation are `tierlang verify`'s."""
        counts = integrity.value_counts(self.conn)
        members = integrity.member_value_counts(self.conn)
        problems = integrity.store_problems(self.conn, counts, members)
        ids = [run_id] if run_id is not None else [r.id for r in self.runs()]
        for rid in ids:
            problems += [
                f"run {rid}: {p}"
                for p in integrity.shape_problems(self.conn, rid, counts, members)
            ]
        return problems


def _floats(blob: Any, count: int) -> list[float | None]:
    """`count` little-endian float64 values of a recorded matrix slice (None for NaN, and for
    a damaged cell, which `verify` reports)."""
    if not isinstance(blob, bytes) or len(blob) != 8 * count:
        return [None] * count
    return [None if math.isnan(v) else v for v in np.frombuffer(blob, dtype="<f8").tolist()]


def plural(word: str, n: int) -> str:
    """`word` for `n` of them: location, locations; entity, entities; process, processes."""
    if n == 1:
        return word
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _ambiguous(
    kind: str, text: str, matches: list[EntityRef], names: list[str] | None = None
) -> AuditError:
    more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
    if names is None:  # one level
        keys = ", ".join(f"'{e.key}'" for e in matches[:10])
        return AuditError(
            f"'{text}' names {len(matches)} {kind} entities ({keys}{more}); give the key"
        )
    keys = ", ".join(f"{e.level or names[0]} '{e.key}'" for e in matches[:10])
    first = matches[0]
    hint = f"{first.level or names[0]}:{first.key}"
    return AuditError(
        f"'{text}' names {len(matches)} entities ({keys}{more}); give the key, with its "
        f"level if need be ('{hint}')",
        suggestion=hint,
    )


def _folded_match(
    kind: str, text: str, everything: list[EntityRef], names: list[str] | None = None
) -> EntityRef | None:
    """The one entity whose key, else label, equals `text` ignoring case and surrounding
    spaces; None if none; AuditError if several."""
    folded = text.strip().casefold()
    for field in ("key", "label"):
        matches = [e for e in everything if (getattr(e, field) or "").strip().casefold() == folded]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise _ambiguous(kind, text, matches, names)
    return None


def _not_found(text: str, everything: list[EntityRef], message: str) -> AuditError:
    """A did-you-mean error: the closest key or label, or the names containing `text`."""
    folded = text.strip().casefold()
    candidates = [e.key for e in everything] + [e.label for e in everything if e.label]
    suggestion = did_you_mean(text, candidates)
    if suggestion is not None:
        suggested = [e for e in everything if suggestion in (e.key, e.label)][:1]
    else:  # a part of a name: "bristol"
        suggested = [
            e
            for e in everything
            if folded and (folded in e.key.casefold() or folded in (e.label or "").casefold())
        ][:5]
    if suggested:
        hints = [
            f"'{e.label}' ({e.key})" if e.label and e.label != e.key else f"'{e.key}'"
            for e in suggested
        ]
        message += f"; did you mean {' or '.join(hints)}?"
        suggestion = suggestion or suggested[0].key
    return AuditError(message, suggestion=suggestion)


def _id_ranges(ids: list[int]) -> str:
    parts = []
    for _, group in itertools.groupby(enumerate(ids), key=lambda p: p[1] - p[0]):
        g = [v for _, v in group]
        parts.append(str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}")
    return ", ".join(parts)
