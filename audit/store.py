"""The audit store: one SQLite file holding every recorded run, whole.

    store = open_store("audit.db")
    run_id = store.record(result, dataset)      # one transaction: the run is stored whole or not at all
    store.runs()                                # newest first
    entity = store.find_entity(run_id, "Dorset")
    run = store.recorded(run_id)                # the typed read model: run.levels[0] is the top level

This module opens the store (pragmas, migrations) and holds `AuditStore`, whose methods delegate
by job: writing (audit/write/), reading (audit/read/: records, the RecordedRun and its Level
views, values, lower levels, recorded facts), finding (audit/read/find.py) and the shape checks
(audit/integrity/).

Every SQL statement is parameterised: keys, labels and texts are bound, never spliced.
The schema and its guarantees are documented in docs/audit.md.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from audit import integrity, schema, seals
from audit.errors import AuditError, installed_version, is_busy, is_read_only
from audit.read import facts as _facts
from audit.read import find as _find
from audit.read import levels as _levels
from audit.read import values as _values
from audit.read.find import plural
from audit.read.records import (
    EntityRef,
    LevelInfo,
    NodeInfo,
    RecordedBranch,
    RecordedComponent,
    RecordedRank,
    RecordedStatistic,
    RunInfo,
    TierStep,
    decode_value,
)
from audit.read.run import Level, RecordedRun, recorded_run
from audit.write.transaction import begin_write, record_run
from interpreter.trace import RunResult

__all__ = [
    "AuditError",
    "AuditStore",
    "EntityRef",
    "Level",
    "LevelInfo",
    "NodeInfo",
    "RecordedBranch",
    "RecordedComponent",
    "RecordedRank",
    "RecordedRun",
    "RecordedStatistic",
    "RunInfo",
    "TierStep",
    "begin_write",
    "decode_value",
    "installed_version",
    "is_busy",
    "is_read_only",
    "open_store",
    "plural",
]

BUSY_TIMEOUT_MS = 10_000


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

    # ------------------------------------------------------------ writing (audit/write/)

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
        """Store a whole run in one transaction, sealed, and return its id (audit.write.record_run)."""
        return record_run(self.conn, self.path, result, dataset, tool_version, note, started, rerun_of, user)

    # ------------------------------------------------------------ finding (audit/read/find.py)

    def runs(self) -> list[RunInfo]:
        """Every recorded run, newest first."""
        return _find.runs(self)

    def latest_run_id(self) -> int:
        return _find.latest_run_id(self)

    def run(self, run_id: int) -> RunInfo:
        return _find.run(self, run_id)

    def methodology(self, sha256: str) -> dict:
        return _find.methodology(self, sha256)

    def dataset(self, sha256: str) -> dict | None:
        return _find.dataset(self, sha256)

    def entities(self, run_id: int) -> list[EntityRef]:
        return _find.entities(self, run_id)

    def find_entity(self, run_id: int, text: str) -> EntityRef:
        """The entity whose key, else label, is `text` (then ignoring case and spaces), at any
        level (`LEVEL:TEXT` searches one); AuditError with a did-you-mean otherwise."""
        return _find.find_entity(self, run_id, text)

    # ------------------------------------------------------------ the read model (audit/read/)

    def recorded(self, run_id: int) -> RecordedRun:
        """The run as a RecordedRun: its row and one Level view per level, the top level first."""
        return recorded_run(self.conn, self.run(run_id), self.levels(run_id))

    def levels(self, run_id: int) -> list[LevelInfo]:
        """The run's lower levels, each after its parent; empty for a single-level run."""
        return _levels.levels(self, run_id)

    def level(self, run_id: int, name: str) -> LevelInfo:
        return _levels.level(self, run_id, name)

    def members(self, run_id: int, level: str, parent_key: str | None = None) -> list[EntityRef]:
        """The entities of a lower level in data order (within `parent_key` only, if given)."""
        return _levels.members(self, run_id, level, parent_key)

    def parent(self, run_id: int, entity: EntityRef) -> EntityRef | None:
        return _levels.parent(self, run_id, entity)

    def ancestors(self, run_id: int, entity: EntityRef) -> list[EntityRef]:
        """The entities `entity` lies within, nearest first, up to its top-level entity."""
        return _levels.ancestors(self, run_id, entity)

    def descendants(self, run_id: int, entity: EntityRef, level: str) -> list[EntityRef]:
        """The members of `level` that lie within `entity` (at any depth), in data order."""
        return _levels.descendants(self, run_id, entity, level)

    def member_values(self, run_id: int, level: str | LevelInfo, position: int) -> dict[str, tuple[Any, str | None]]:
        """Every node's (value, missing reason) for one member of a lower level."""
        return _levels.member_values(self, run_id, level, position)

    def nodes(self, run_id: int) -> list[NodeInfo]:
        """Every node of a run, in evaluation order."""
        return _values.nodes(self, run_id)

    def node(self, run_id: int, name: str) -> NodeInfo:
        return _values.node(self, run_id, name)

    def entity_values(self, run_id: int, position: int) -> dict[str, tuple[Any, str | None]]:
        """Every node's (value, missing reason) for one entity: one index range read."""
        return _values.entity_values(self, run_id, position)

    def values(self, run_id: int, node: str) -> pd.Series:
        """One node's values for every entity (member, for a lower level's node), indexed by key."""
        return _values.values(self, run_id, node)

    def reasons(self, run_id: int, node: str) -> pd.Series:
        """One node's missing reasons (None where present), indexed by key."""
        return _values.reasons(self, run_id, node)

    def scalars(self, run_id: int, node: str | None = None) -> dict[str, dict[str, Any]]:
        """{node: {name: value}} in recorded order; numbers as floats, texts as str."""
        return _values.scalars(self, run_id, node)

    def tier_steps(self, run_id: int, tier: str, position: int | None = None) -> list[TierStep]:
        """A tier's steps for every entity (or the one at `position`), by member for a lower level."""
        return _values.tier_steps(self, run_id, tier, position)

    # ------------------------------------------------------------ recorded facts (schema version 7)

    def has_facts(self, run_id: int) -> bool:
        return _facts.has_facts(self, run_id)

    def components(self, run_id: int, node: str, position: int) -> list[RecordedComponent]:
        return _facts.components(self, run_id, node, position)

    def rank(self, run_id: int, tier: str, position: int) -> RecordedRank | None:
        return _facts.rank(self, run_id, tier, position)

    def branch(self, run_id: int, node: str, position: int) -> RecordedBranch | None:
        return _facts.branch(self, run_id, node, position)

    def statistics(self, run_id: int) -> dict[str, list[RecordedStatistic]]:
        return _facts.statistics(self, run_id)

    def tier_ranks(self, run_id: int, tier: str) -> dict[int, tuple[int | None, int | None, int | None]]:
        return _facts.tier_ranks(self, run_id, tier)

    def index_ranks(self, run_id: int, level: str | None = None) -> tuple[str, dict[int, int | None]] | None:
        return _facts.index_ranks(self, run_id, level)

    # ------------------------------------------------------------ integrity (audit/integrity/)

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

