"""Tamper evidence beyond the runs: the store's schema, and the comparisons and analyses.

The runs are covered by their content hashes and the chain (audit/integrity.py). Two more
things a forger could change so that what the store shows is not what tierlang recorded:

- **The schema**: a view (`named_values`, `named_tier_steps`, ...) replaced by one that shows
  fabricated labels or values, a trigger added, a table altered. `schema_problems` builds the
  schema tierlang creates, from the code (every migration of audit/schema.py run on an empty
  in-memory database), and compares every object of the store with it by type, name and SQL
  text: an object that differs, is missing or was added is named. No hash to forge: the
  reference is the code itself.
- **Comparisons and analyses** (`tierlang diff`, `tierlang sensitivity`): each is *sealed*
  when recorded, in the transaction that records it. Scheme `tierlang-record-v1`: the record
  digest is sha256 over the scheme, the kind, the id and, for each of its tables (comparisons:
  its `comparisons` row; analyses: its `analyses` row, its `analysis_entities` and
  `analysis_choices` rows), the table name, its column names and its rows in primary-key order
  as JSON. The seal is sha256(the seal of the previous record of that kind, in id order, or 64
  zeros; the record digest), kept in `tierlang_meta` under the key `seal.KIND.ID`. `verify`
  recomputes each record's seal from the stored previous seal and says which record was
  changed, has no seal, or was deleted (a seal whose rows are gone). No schema migration is
  needed: the seals are rows of the existing key-value table.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

import sqlite_utils

from audit import schema

RECORD_SCHEME = "tierlang-record-v1"
GENESIS = "0" * 64
KINDS = {  # kind: (its main table, (table, column naming the record) of each of its tables)
    "comparison": ("comparisons", (("comparisons", "id"),)),
    "analysis": ("analyses", (("analyses", "id"), ("analysis_entities", "analysis"),
                              ("analysis_choices", "analysis"))),
}


# ---------------------------------------------------------------- the schema


def reference_schema() -> dict[tuple[str, str], str | None]:
    """(type, name) -> SQL of every object tierlang creates, from the migrations themselves."""
    db = sqlite_utils.Database(memory=True)
    for _description, migration in schema.MIGRATIONS:
        migration(db)
    schema.set_version(db, schema.SCHEMA_VERSION)
    objects = _objects(db.conn)
    db.conn.close()
    return objects


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    return {
        (kind, name): _squash(sql)
        for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")
        if not name.startswith("sqlite_")  # SQLite's own: autoindexes, sqlite_sequence, sqlite_stat*
    }


def _squash(sql: str | None) -> str | None:
    return None if sql is None else " ".join(sql.split())


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """Each object of the store that is not as tierlang creates it, named."""
    version = conn.execute("SELECT value FROM tierlang_meta WHERE key = 'schema_version'").fetchone()
    if version is None or str(version[0]) != str(schema.SCHEMA_VERSION):
        return []  # an older store is migrated when opened for writing; open_store checks newer
    expected, stored = reference_schema(), _objects(conn)
    problems = []
    for (kind, name), sql in sorted(stored.items()):
        if (kind, name) not in expected:
            problems.append(f"{kind} {name}: not created by tierlang (added to the store)")
        elif sql != expected[(kind, name)]:
            what = " (it may show other rows than the tables hold)" if kind == "view" else ""
            problems.append(f"{kind} {name}: its definition differs from the one tierlang creates{what}")
    for kind, name in sorted(set(expected) - set(stored)):
        problems.append(f"{kind} {name}: missing (dropped from the store)")
    return problems


# ---------------------------------------------------------------- comparisons and analyses


def _table_rows(conn: sqlite3.Connection, table: str, column: str, record_id: int) -> list:
    info = list(conn.execute(f"PRAGMA table_info({table})"))  # table names are ours, never data
    columns = [r[1] for r in info]
    key = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]] or ["rowid"]
    names = ", ".join(f'"{c}"' for c in columns)
    order = ", ".join(f'"{c}"' if c != "rowid" else c for c in key)
    where = f'"{column}" = ?'
    rows = conn.execute(f"SELECT {names} FROM {table} WHERE {where} ORDER BY {order}", (record_id,)).fetchall()
    return [table, columns, [[_plain(v) for v in r] for r in rows]]


def _plain(value):
    if isinstance(value, bytes):  # never written by tierlang: tagged, so it cannot hash as text
        return {"blob": value.hex()}
    return value


def record_digest(conn: sqlite3.Connection, kind: str, record_id: int) -> str:
    parts = [_table_rows(conn, table, column, record_id) for table, column in KINDS[kind][1]]
    text = json.dumps([RECORD_SCHEME, kind, record_id, parts], ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _seal_of(previous: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}\n{digest}".encode("ascii")).hexdigest()


def _key(kind: str, record_id: int) -> str:
    return f"seal.{kind}.{record_id}"


def _stored_seals(conn: sqlite3.Connection, kind: str) -> dict[int, str]:
    prefix = f"seal.{kind}."
    out = {}
    for key, value in conn.execute("SELECT key, value FROM tierlang_meta WHERE key LIKE ?", (prefix + "%",)):
        suffix = key[len(prefix):]
        if suffix.isdigit():
            out[int(suffix)] = value
    return out


def seal_record(conn: sqlite3.Connection, kind: str, record_id: int) -> str:
    """Seal record `record_id` of `kind`: call inside the transaction that writes its rows."""
    previous = conn.execute(
        "SELECT value FROM tierlang_meta WHERE key = ?",
        (_key(kind, _previous_id(conn, kind, record_id)),),
    ).fetchone()
    seal = _seal_of(previous[0] if previous else GENESIS, record_digest(conn, kind, record_id))
    conn.execute("INSERT OR REPLACE INTO tierlang_meta (key, value) VALUES (?, ?)", (_key(kind, record_id), seal))
    return seal


def _previous_id(conn: sqlite3.Connection, kind: str, record_id: int) -> int:
    table = KINDS[kind][0]
    row = conn.execute(f"SELECT max(id) FROM {table} WHERE id < ?", (record_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def record_problems(conn: sqlite3.Connection) -> list[str]:
    """Each comparison or analysis whose rows are not as sealed, that has no seal, or whose
    rows were deleted."""
    problems = []
    for kind, (table, _tables) in KINDS.items():
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is None:
            continue
        seals = _stored_seals(conn, kind)
        ids = [int(r[0]) for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
        previous = GENESIS
        for record_id in ids:
            stored = seals.get(record_id)
            if stored is None:
                problems.append(f"{kind} {record_id}: not sealed (recorded without a seal, or its seal was deleted)")
            elif _seal_of(previous, record_digest(conn, kind, record_id)) != stored:
                problems.append(f"{kind} {record_id}: its rows do not match its seal: changed after it was "
                                f"recorded (or an earlier {kind} was deleted)")
            previous = stored or previous
        present = set(ids)
        for record_id in range(1, max([*ids, *seals, 0]) + 1):
            if record_id not in present and (record_id in seals or record_id < max(ids, default=0)):
                problems.append(f"{kind} {record_id}: deleted from the store")
    return problems


def latest_seals(conn: sqlite3.Connection) -> list[tuple[str, int, str]]:
    """(kind, id, seal) of the latest sealed record of each kind: what a published digest pins
    (each seal pins every earlier record of its kind)."""
    out = []
    for kind in KINDS:
        seals = _stored_seals(conn, kind)
        if seals:
            last = max(seals)
            out.append((kind, last, seals[last]))
    return out


def seal_of(conn: sqlite3.Connection, kind: str, record_id: int) -> str | None:
    row = conn.execute("SELECT value FROM tierlang_meta WHERE key = ?", (_key(kind, record_id),)).fetchone()
    return None if row is None else row[0]
